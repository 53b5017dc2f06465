/* The Cortex-M Data Watchpoint and Trace unit's profiling counters (Armv7-M and Armv8-M with the
 * Main Extension): CYCCNT, a 32-bit cycle counter, and five 8-bit event counters (CPI, exception,
 * sleep, load-store, folded instructions). A real board's port implements td_port_counters with
 * these two calls:
 *
 *   void td_port_init(void) { ...; td_dwt_start(); }
 *   uint32_t td_port_counters(uint32_t values[TD_COUNTER_COUNT]) { return td_dwt_read(values); }
 *
 * td_dwt_start checks that the counters exist and count: a core built without them, or an
 * emulator that reads the registers as zero (QEMU), gives no counters instead of zeros. */
#ifndef TINYDEPLOY_BOARDS_DWT_H_
#define TINYDEPLOY_BOARDS_DWT_H_

#include <stdint.h>

#include "tinydeploy/port.h"

#define TD_DWT_REG(address) (*(volatile uint32_t*)(address))

#define TD_DEMCR 0xE000EDFCu       /* Debug Exception and Monitor Control */
#define TD_DEMCR_TRCENA (1u << 24) /* powers the DWT and ITM */
#define TD_DWT_CTRL 0xE0001000u    /* DWT control */
#define TD_DWT_CYCCNT                                                                         \
  0xE0001004u                  /* then CPICNT, EXCCNT, SLEEPCNT, LSUCNT, FOLDCNT, a word each \
                                */
#define TD_DWT_LAR 0xE0001FB0u /* CoreSight lock access (a Cortex-M7 needs it unlocked) */
#define TD_DWT_UNLOCK 0xC5ACCE55u
#define TD_DWT_NOCYCCNT (1u << 25)  /* CTRL: no cycle counter */
#define TD_DWT_NOPRFCNT (1u << 24)  /* CTRL: no event counters */
#define TD_DWT_EVENTS (0x1Fu << 17) /* CTRL: CPI, EXC, SLEEP, LSU and FOLD counter enables */
#define TD_DWT_CYCCNTENA (1u << 0)

/* Which counters td_dwt_read returns (bit i for TD_COUNTER_i); 0 until td_dwt_start finds them. */
static uint32_t td_dwt_mask;

static inline void td_dwt_start(void) {
  td_dwt_mask = 0;
  TD_DWT_REG(TD_DEMCR) |= TD_DEMCR_TRCENA;
  TD_DWT_REG(TD_DWT_LAR) = TD_DWT_UNLOCK;
  const uint32_t ctrl = TD_DWT_REG(TD_DWT_CTRL);
  if (ctrl & TD_DWT_NOCYCCNT) return;
  uint32_t enable = TD_DWT_CYCCNTENA;
  if ((ctrl & TD_DWT_NOPRFCNT) == 0) enable |= TD_DWT_EVENTS;
  TD_DWT_REG(TD_DWT_CYCCNT) = 0;
  TD_DWT_REG(TD_DWT_CTRL) = ctrl | enable;
  /* A counter that does not move over a short loop is not there, whatever CTRL says. */
  const uint32_t before = TD_DWT_REG(TD_DWT_CYCCNT);
  for (volatile int i = 0; i < 16; ++i) {
  }
  if (TD_DWT_REG(TD_DWT_CYCCNT) == before) return;
  td_dwt_mask = 1u << TD_COUNTER_CYCLES;
  if ((ctrl & TD_DWT_NOPRFCNT) == 0) {
    td_dwt_mask |= (1u << TD_COUNTER_CPI) | (1u << TD_COUNTER_EXC) | (1u << TD_COUNTER_SLEEP) |
                   (1u << TD_COUNTER_LSU) | (1u << TD_COUNTER_FOLD);
  }
}

static inline uint32_t td_dwt_read(uint32_t values[TD_COUNTER_COUNT]) {
  if (td_dwt_mask == 0) return 0;
  for (uint32_t i = 0; i < TD_COUNTER_COUNT; ++i) {
    values[i] = (td_dwt_mask & (1u << i)) ? TD_DWT_REG(TD_DWT_CYCCNT + 4u * i) : 0u;
  }
  return td_dwt_mask;
}

#endif /* TINYDEPLOY_BOARDS_DWT_H_ */
