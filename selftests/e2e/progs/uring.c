/* Reads or connects through io_uring, with no open, read or connect
 * syscall: the way io_uring-based malware works.
 *
 *   uring open PATH [async]   IORING_OP_OPENAT + IORING_OP_READ of PATH;
 *                             "async" sets IOSQE_ASYNC, so the open runs on
 *                             an io-wq worker thread instead of inline
 *   uring open-fixed PATH [alloc]
 *                             the same into fixed-file slot 2 (no
 *                             descriptor), or one the kernel picks, read
 *                             with IOSQE_FIXED_FILE
 *   uring truncate PATH       IORING_OP_OPENAT of PATH for writing with
 *                             O_TRUNC (which the kernel always runs on an
 *                             io-wq worker)
 *   uring append PATH         the same with O_APPEND instead
 *   uring connect IP PORT     IORING_OP_CONNECT of a TCP socket
 *   uring symlink TARGET LINK IORING_OP_SYMLINKAT
 *   uring link OLD NEW        IORING_OP_LINKAT
 *   uring rename OLD NEW      IORING_OP_RENAMEAT
 *   uring unlink PATH         IORING_OP_UNLINKAT
 *   uring mkdir PATH          IORING_OP_MKDIRAT (mode 0755)
 *   uring socket [fixed]      IORING_OP_SOCKET (AF_INET, SOCK_DGRAM)
 *   uring accept [fixed]      IORING_OP_ACCEPT of a loopback connection it
 *                             makes to itself
 *                             "fixed": into fixed-file slot 1 (no
 *                             descriptor)
 *   uring bind                IORING_OP_BIND of a TCP socket to 127.0.0.1
 *                             (a port the kernel picks)
 *   uring listen              IORING_OP_LISTEN (backlog 5) of a TCP socket
 *                             bound to 127.0.0.1
 *
 * Prints "res=N" per operation (the CQE result); exits 0 when every
 * operation succeeded. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int run_one(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	if (io_uring_submit(ring) != 1 || io_uring_wait_cqe(ring, &cqe) != 0)
		return -1000;
	const int res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	printf("res=%d\n", res);
	return res;
}

int main(int argc, char **argv)
{
	if (argc < 2 || (argc < 3 && strcmp(argv[1], "socket") != 0 &&
			  strcmp(argv[1], "accept") != 0 && strcmp(argv[1], "bind") != 0 &&
			  strcmp(argv[1], "listen") != 0)) {
		fprintf(stderr, "usage: uring open|open-fixed PATH [async|alloc] | truncate|append|unlink|mkdir PATH "
				"| symlink|link|rename A B | connect IP PORT | socket|accept [fixed] | bind | listen\n");
		return 2;
	}
	struct io_uring ring;
	if (io_uring_queue_init(4, &ring, 0) != 0) {
		perror("io_uring_queue_init");
		return 2;
	}
	/* socket and accept into fixed-file slot 1 */
	const int fixed = argc > 2 && strcmp(argv[2], "fixed") == 0;
	if (fixed && io_uring_register_files_sparse(&ring, 4) != 0) {
		fprintf(stderr, "io_uring_register_files_sparse failed\n");
		return 2;
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	if (strcmp(argv[1], "open") == 0) {
		io_uring_prep_openat(sqe, AT_FDCWD, argv[2], O_RDONLY, 0);
		if (argc > 3 && strcmp(argv[3], "async") == 0)
			sqe->flags |= IOSQE_ASYNC;
		const int fd = run_one(&ring);
		if (fd < 0)
			return 1;
		static char buf[4096];
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
		return run_one(&ring) < 0;
	}
	if (strcmp(argv[1], "open-fixed") == 0) {
		if (io_uring_register_files_sparse(&ring, 4) != 0) {
			fprintf(stderr, "io_uring_register_files_sparse failed\n");
			return 2;
		}
		const int alloc = argc > 3 && strcmp(argv[3], "alloc") == 0;
		io_uring_prep_openat_direct(sqe, AT_FDCWD, argv[2], O_RDONLY, 0, 2);
		if (alloc) /* liburing 2.3 would add one to IORING_FILE_INDEX_ALLOC */
			sqe->file_index = IORING_FILE_INDEX_ALLOC;
		const int res = run_one(&ring);
		if (res < 0)
			return 1;
		static char buf[4096];
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, alloc ? res : 2, buf, sizeof(buf), 0);
		sqe->flags |= IOSQE_FIXED_FILE;
		return run_one(&ring) < 0;
	}
	if (strcmp(argv[1], "truncate") == 0 || strcmp(argv[1], "append") == 0) {
		const int how = strcmp(argv[1], "truncate") == 0 ? O_TRUNC : O_APPEND;
		io_uring_prep_openat(sqe, AT_FDCWD, argv[2], O_WRONLY | how, 0);
		return run_one(&ring) < 0;
	}
	if (strcmp(argv[1], "connect") == 0 && argc > 3) {
		const int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
		inet_pton(AF_INET, argv[2], &sin.sin_addr);
		io_uring_prep_connect(sqe, s, (struct sockaddr *)&sin, sizeof(sin));
		return run_one(&ring) < 0;
	}
	if (strcmp(argv[1], "unlink") == 0 || strcmp(argv[1], "mkdir") == 0) {
		if (argv[1][0] == 'u')
			io_uring_prep_unlinkat(sqe, AT_FDCWD, argv[2], 0);
		else
			io_uring_prep_mkdirat(sqe, AT_FDCWD, argv[2], 0755);
		return run_one(&ring) < 0;
	}
	if (argc > 3 && strcmp(argv[1], "symlink") == 0) {
		io_uring_prep_symlinkat(sqe, argv[2], AT_FDCWD, argv[3]);
		return run_one(&ring) < 0;
	}
	if (argc > 3 && strcmp(argv[1], "link") == 0) {
		io_uring_prep_linkat(sqe, AT_FDCWD, argv[2], AT_FDCWD, argv[3], 0);
		return run_one(&ring) < 0;
	}
	if (argc > 3 && strcmp(argv[1], "rename") == 0) {
		io_uring_prep_renameat(sqe, AT_FDCWD, argv[2], AT_FDCWD, argv[3], 0);
		return run_one(&ring) < 0;
	}
	if (strcmp(argv[1], "socket") == 0) {
		io_uring_prep_socket(sqe, AF_INET, SOCK_DGRAM, 0, 0);
		if (fixed)
			sqe->file_index = 1 + 1; /* slot 1 */
		return run_one(&ring) < 0;
	}
	if (strcmp(argv[1], "accept") == 0) {
		const int l = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sin = {.sin_family = AF_INET};
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof(sin);
		if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(l, 1) != 0 ||
		    getsockname(l, (struct sockaddr *)&sin, &len) != 0) {
			perror("listen");
			return 2;
		}
		const int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
			perror("connect");
			return 2;
		}
		io_uring_prep_accept(sqe, l, NULL, NULL, 0);
		if (fixed)
			sqe->file_index = 1 + 1; /* slot 1 */
		return run_one(&ring) < 0;
	}
	if (strcmp(argv[1], "bind") == 0 || strcmp(argv[1], "listen") == 0) {
		/* liburing 2.3 has no prep helpers for these (Linux 6.11): the
		 * opcodes and fields by hand (bind: addr and addr2 = length;
		 * listen: len = backlog). */
		const int s = socket(AF_INET, SOCK_STREAM, 0);
		static struct sockaddr_in sin = {.sin_family = AF_INET};
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (argv[1][0] == 'b') {
			io_uring_prep_rw(56 /* IORING_OP_BIND */, sqe, s, &sin, 0, sizeof(sin));
		} else {
			if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
				perror("bind");
				return 2;
			}
			io_uring_prep_rw(57 /* IORING_OP_LISTEN */, sqe, s, NULL, 5, 0);
		}
		return run_one(&ring) < 0;
	}
	fprintf(stderr, "unknown operation %s\n", argv[1]);
	return 2;
}
