/* Port for the host: the target program is a native process and the link is its standard
 * input and output (pipes opened by tinydeploy). Ticks are CLOCK_MONOTONIC nanoseconds. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tinydeploy/port.h"

void td_port_init(void) {}

void td_port_write(const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t written = write(STDOUT_FILENO, data, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) exit(3); /* the PC closed the link */
    data += written;
    size -= (size_t)written;
  }
}

static uint8_t received[4096];
static size_t received_size;
static size_t received_next;

int td_port_read(uint8_t* byte) {
  if (received_next == received_size) {
    /* Waits up to a millisecond rather than spinning a host core. */
    struct pollfd in = {STDIN_FILENO, POLLIN, 0};
    if (poll(&in, 1, 1) <= 0) return 0;
    const ssize_t got = read(STDIN_FILENO, received, sizeof(received));
    if (got == 0) exit(0); /* the PC ended the session */
    if (got < 0) return 0;
    received_size = (size_t)got;
    received_next = 0;
  }
  *byte = received[received_next++];
  return 1;
}

uint64_t td_port_ticks(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

uint32_t td_port_tick_hz(void) { return 1000000000u; }
void td_port_marker(int on) { (void)on; }
/* The PC's cycle counters are not the target's business: the profile is the clock's. */
uint32_t td_port_counters(uint32_t values[TD_COUNTER_COUNT]) {
  (void)values;
  return 0;
}
void td_port_exit(int code) { exit(code); }
const char* td_port_board_name(void) { return "host"; }
