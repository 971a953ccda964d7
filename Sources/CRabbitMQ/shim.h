#ifndef RACELAB_CRABBITMQ_SHIM_H
#define RACELAB_CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <amqp_framing.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* amqp_login is variadic, which Swift cannot call: wrap the PLAIN form. */
static inline amqp_rpc_reply_t racelab_amqp_login_plain(amqp_connection_state_t state, const char *vhost, int channel_max,
                                                        int frame_max, int heartbeat, const char *user,
                                                        const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

/* amqp_login_with_properties is variadic too: the PLAIN form with client properties (e.g. connection_name). */
static inline amqp_rpc_reply_t racelab_amqp_login_plain_with_properties(amqp_connection_state_t state, const char *vhost,
                                                                        int channel_max, int frame_max, int heartbeat,
                                                                        const amqp_table_t *properties,
                                                                        const char *user, const char *password) {
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat, properties,
                                      AMQP_SASL_METHOD_PLAIN, user, password);
}

/* Method ids are cast macros, which Swift does not import. */
static const amqp_method_number_t RACELAB_CONNECTION_CLOSE_METHOD = AMQP_CONNECTION_CLOSE_METHOD;
static const amqp_method_number_t RACELAB_CONNECTION_CLOSE_OK_METHOD = AMQP_CONNECTION_CLOSE_OK_METHOD;
static const amqp_method_number_t RACELAB_CONNECTION_BLOCKED_METHOD = AMQP_CONNECTION_BLOCKED_METHOD;
static const amqp_method_number_t RACELAB_CONNECTION_UNBLOCKED_METHOD = AMQP_CONNECTION_UNBLOCKED_METHOD;
static const amqp_method_number_t RACELAB_CHANNEL_CLOSE_METHOD = AMQP_CHANNEL_CLOSE_METHOD;
static const amqp_method_number_t RACELAB_CHANNEL_CLOSE_OK_METHOD = AMQP_CHANNEL_CLOSE_OK_METHOD;
static const amqp_method_number_t RACELAB_BASIC_ACK_METHOD = AMQP_BASIC_ACK_METHOD;
static const amqp_method_number_t RACELAB_BASIC_NACK_METHOD = AMQP_BASIC_NACK_METHOD;
static const amqp_method_number_t RACELAB_BASIC_CANCEL_METHOD = AMQP_BASIC_CANCEL_METHOD;
static const amqp_method_number_t RACELAB_BASIC_DELIVER_METHOD = AMQP_BASIC_DELIVER_METHOD;
static const amqp_method_number_t RACELAB_BASIC_RETURN_METHOD = AMQP_BASIC_RETURN_METHOD;

/* Property flags, spelled out so Swift sees them as amqp_flags_t. */
static const amqp_flags_t RACELAB_BASIC_CONTENT_TYPE_FLAG = AMQP_BASIC_CONTENT_TYPE_FLAG;
static const amqp_flags_t RACELAB_BASIC_HEADERS_FLAG = AMQP_BASIC_HEADERS_FLAG;
static const amqp_flags_t RACELAB_BASIC_DELIVERY_MODE_FLAG = AMQP_BASIC_DELIVERY_MODE_FLAG;
static const amqp_flags_t RACELAB_BASIC_CORRELATION_ID_FLAG = AMQP_BASIC_CORRELATION_ID_FLAG;
static const amqp_flags_t RACELAB_BASIC_MESSAGE_ID_FLAG = AMQP_BASIC_MESSAGE_ID_FLAG;
static const amqp_flags_t RACELAB_BASIC_TIMESTAMP_FLAG = AMQP_BASIC_TIMESTAMP_FLAG;

/*
 * Opens a non-blocking TCP connection to host:port within timeout_ms, configured the way librabbitmq's own
 * connect does (CLOEXEC, O_NONBLOCK, TCP_NODELAY, SO_KEEPALIVE), so it can be handed over with
 * amqp_tcp_socket_set_sockfd. librabbitmq's amqp_socket_open_noblock reports every failure as a bare
 * "a socket error occurred"; doing the connect here keeps the real cause.
 *
 * Returns the fd, or -1 with *error_out set to an errno value (ETIMEDOUT on timeout), or -2 with
 * *error_out set to a getaddrinfo error code (for gai_strerror).
 */
static inline int racelab_tcp_connect(const char *host, int port, int timeout_ms, int *error_out) {
    struct addrinfo hint;
    struct addrinfo *list = NULL;
    struct addrinfo *addr;
    char port_string[16];
    struct timespec start, now;
    int last_errno = ECONNREFUSED;

    memset(&hint, 0, sizeof(hint));
    hint.ai_family = AF_UNSPEC;
    hint.ai_socktype = SOCK_STREAM;
    hint.ai_protocol = IPPROTO_TCP;
    snprintf(port_string, sizeof(port_string), "%d", port);
    int gai = getaddrinfo(host, port_string, &hint, &list);
    if (gai != 0) {
        *error_out = gai;
        return -2;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (addr = list; addr != NULL; addr = addr->ai_next) {
        int one = 1;
        int fd = socket(addr->ai_family, addr->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, addr->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        if (connect(fd, addr->ai_addr, addr->ai_addrlen) == 0) {
            freeaddrinfo(list);
            return fd;
        }
        if (errno != EINPROGRESS) {
            last_errno = errno;
            close(fd);
            continue;
        }
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            long elapsed_ms = (long)(now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
            long remaining = (long)timeout_ms - elapsed_ms;
            if (remaining <= 0) {
                close(fd);
                freeaddrinfo(list);
                *error_out = ETIMEDOUT;
                return -1;
            }
            struct pollfd pfd = {.fd = fd, .events = POLLOUT, .revents = 0};
            int ready = poll(&pfd, 1, (int)remaining);
            if (ready < 0 && errno == EINTR) {
                continue;
            }
            if (ready < 0) {
                last_errno = errno;
                break;
            }
            if (ready == 0) {
                continue; /* the deadline check above reports the timeout */
            }
            int so_error = 0;
            socklen_t len = sizeof(so_error);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) {
                so_error = errno;
            }
            if (so_error == 0) {
                freeaddrinfo(list);
                return fd;
            }
            last_errno = so_error;
            break;
        }
        close(fd);
    }
    freeaddrinfo(list);
    *error_out = last_errno;
    return -1;
}

#endif
