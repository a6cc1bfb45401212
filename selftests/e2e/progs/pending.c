/* pending N FILE exec|exit: fork N children that never exec and have sent
 * nothing yet, then either exec /bin/sleep under the name "pg-new-image"
 * or exit; only then do the children open FILE. Run it under another name
 * (argv[0]): that is the children's proc.exe.
 *
 * The children hold a pipe's read end; the write end closes on the exec
 * or the exit, which is what they wait for. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4)
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
			if (read(gate[0], &b, 1) == 0) {
				usleep(200 * 1000);
				close(open(argv[2], O_RDONLY));
			}
			_exit(0);
		}
	}
	close(gate[0]);
	if (strcmp(argv[3], "exec") == 0)
		execl("/bin/sleep", "pg-new-image", "0.5", (char *)NULL);
	return strcmp(argv[3], "exit") == 0 ? 0 : 2;
}
