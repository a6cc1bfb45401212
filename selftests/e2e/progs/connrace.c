/* The TOCTOU race on connect's address argument: one thread connects with
 * the sockaddr in a shared buffer over and over while another keeps
 * rewriting its port between the target's and a decoy's, so the kernel
 * connects to one port while the buffer, by the time the syscall returns,
 * may name the other. Both ports listen here (an accepting thread each);
 * each connect's real peer is checked with getpeername.
 *
 *   connrace TARGET_PORT DECOY_PORT COUNT   prints "target=N decoy=M"
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in addr;
static unsigned short ports[2]; /* network order */
static atomic_int done;

static void *flip(void *arg)
{
	(void)arg;
	volatile unsigned short *p = &addr.sin_port;
	for (unsigned i = 0; !atomic_load_explicit(&done, memory_order_relaxed); i++)
		*p = ports[i & 1];
	return NULL;
}

static void *serve(void *arg)
{
	const int l = (int)(long)arg;
	for (;;) {
		const int c = accept(l, NULL, NULL);
		if (c >= 0)
			close(c);
	}
	return NULL;
}

static int listen_on(unsigned short port)
{
	const int l = socket(AF_INET, SOCK_STREAM, 0);
	const int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 4096) != 0) {
		perror("listen");
		exit(2);
	}
	return l;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: connrace TARGET_PORT DECOY_PORT COUNT\n");
		return 2;
	}
	const unsigned short target = (unsigned short)atoi(argv[1]);
	ports[0] = htons(target);
	ports[1] = htons((unsigned short)atoi(argv[2]));
	const int count = atoi(argv[3]);
	pthread_t t;
	for (int i = 0; i < 2; i++)
		pthread_create(&t, NULL, serve, (void *)(long)listen_on(ntohs(ports[i])));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = ports[0];
	pthread_create(&t, NULL, flip, NULL);
	int to_target = 0, to_decoy = 0;
	for (int i = 0; i < count; i++) {
		const int s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			struct sockaddr_in peer;
			socklen_t len = sizeof(peer);
			if (getpeername(s, (struct sockaddr *)&peer, &len) == 0) {
				if (ntohs(peer.sin_port) == target)
					to_target++;
				else
					to_decoy++;
			}
		}
		close(s);
	}
	atomic_store(&done, 1);
	printf("target=%d decoy=%d\n", to_target, to_decoy);
	return 0;
}
