/* The porting layer: all that tinydeploy's target programs (the validator firmware, and later
 * the profiler and the power firmware) need from a board. Bringing up a new board means
 * implementing these functions in one C file; boards/qemu-m4/port.c is a complete example.
 *
 * The link to the PC is one byte stream (a UART at any baud rate, a USB CDC port, a pipe).
 * Nothing here allocates; every function may be called only after td_port_init(). */
#ifndef TINYDEPLOY_PORT_H_
#define TINYDEPLOY_PORT_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Brings up what the firmware uses: clocks, the link UART, the tick counter. */
void td_port_init(void);

/* Sends `size` bytes on the link, returning when all of them are queued. */
void td_port_write(const uint8_t* data, size_t size);

/* Takes one received byte if one is waiting: returns 1 and stores it in *byte, or returns 0
 * at once when none is. */
int td_port_read(uint8_t* byte);

/* A free-running counter that never wraps in practice, and its rate in Hz. The validator
 * reports invoke times in these ticks. */
uint64_t td_port_ticks(void);
uint32_t td_port_tick_hz(void);

/* Optional: drives a GPIO high (1) or low (0) around each inference, e.g. as a power meter's
 * trigger. Boards without one do nothing. */
void td_port_marker(int on);

/* Optional: the core's own event counters, read by a profiled invoke at every layer boundary
 * (`tinydeploy profile --target serial:...` and `--target host`). Fills values[TD_COUNTER_*] and
 * returns a mask of the ones it read (bit i for values[i]); a board without such counters
 * returns 0, and then the profile holds the tick counter's time per layer only. The counters are
 * free-running and wrap: TD_COUNTER_CYCLES modulo 2^32, the five event counters modulo 2^8 (as
 * the Cortex-M DWT has them). boards/cortex-m/dwt.h implements this for any core with a DWT. */
enum {
  TD_COUNTER_CYCLES, /* processor clock cycles (DWT CYCCNT) */
  TD_COUNTER_CPI,    /* extra cycles of multi-cycle instructions, load-stores excepted (CPICNT) */
  TD_COUNTER_EXC,    /* cycles of exception entry and return (EXCCNT) */
  TD_COUNTER_SLEEP,  /* cycles asleep (SLEEPCNT) */
  TD_COUNTER_LSU,    /* extra cycles of load-store instructions (LSUCNT) */
  TD_COUNTER_FOLD,   /* instructions folded, taking no cycle (FOLDCNT) */
  TD_COUNTER_COUNT
};
uint32_t td_port_counters(uint32_t values[TD_COUNTER_COUNT]);

/* Ends the program with `code`: semihosting exit on an emulator, a halt or reset on a board. */
void td_port_exit(int code);

/* A short name of the board, reported to the PC in the hello exchange. */
const char* td_port_board_name(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TINYDEPLOY_PORT_H_ */
