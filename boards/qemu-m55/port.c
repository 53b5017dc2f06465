/* Port for QEMU mps3-an547: Cortex-M55 (MVE) at 32 MHz; UART0 (CMSDK) at 0x49303000.
 * Under QEMU (-icount shift=0) SysTick counts emulated instructions, not real cycles. */
#include "tinydeploy/port.h"
#include "../cortex-m/dwt.h"
#include "../cortex-m/emulated.h"

enum { kUart = 0x49303000u, kClockHz = 32000000u };

void td_port_init(void) {
  td_cmsdk_uart_init(kUart);
  td_systick_start();
  td_dwt_start(); /* QEMU models no DWT: this finds no counters */
}
void td_port_write(const uint8_t* data, size_t size) { td_cmsdk_uart_write(kUart, data, size); }
int td_port_read(uint8_t* byte) { return td_cmsdk_uart_read(kUart, byte); }
uint64_t td_port_ticks(void) { return td_systick_ticks(); }
uint32_t td_port_tick_hz(void) { return kClockHz; }
void td_port_marker(int on) { (void)on; }
uint32_t td_port_counters(uint32_t values[TD_COUNTER_COUNT]) { return td_dwt_read(values); }
void td_port_exit(int code) { td_semihosting_exit(code); }
const char* td_port_board_name(void) { return "qemu-m55"; }
