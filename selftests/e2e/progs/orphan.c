/* orphan FILE: fork a child and end; the child, which never execs, opens
 * FILE once this process is gone. Run it under another name (argv[0]):
 * that is the child's proc.exe.
 *
 * The child holds a pipe's read end; the write end closes when this
 * process exits, which is what it waits for. */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int gate[2];
	if (pipe(gate) != 0)
		return 1;
	pid_t c = fork();
	if (c < 0)
		return 1;
	if (c == 0) {
		char b;
		close(gate[1]);
		if (read(gate[0], &b, 1) == 0) {
			usleep(200 * 1000);
			close(open(argv[1], O_RDONLY));
		}
		_exit(0);
	}
	return 0;
}
