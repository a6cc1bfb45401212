/* forkexec N FILE: fork N children that have sent nothing yet, exec
 * /bin/sleep under the name "pg-new-image", and only then let the children
 * open FILE. Run it under another name (argv[0]): that is the children's
 * proc.exe, since they never exec.
 *
 * The children hold a pipe's read end; the write end closes on the exec,
 * which is what they wait for. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int gate[2];
	if (pipe2(gate, O_CLOEXEC) != 0)
		return 1;
	const int n = atoi(argv[1]);
	for (int i = 0; i < n; i++) {
		pid_t c = fork();
		if (c < 0)
			return 1;
		if (c == 0) {
			char b;
			close(gate[1]);
			if (read(gate[0], &b, 1) == 0)
				close(open(argv[2], O_RDONLY));
			_exit(0);
		}
	}
	close(gate[0]);
	execl("/bin/sleep", "pg-new-image", "0.5", (char *)NULL);
	return 127;
}
