/* Helpers shared by the emulated Arm boards (QEMU mps2/mps3): the CMSDK APB UART, SysTick as a
 * 64-bit tick counter, and semihosting exit. Included by exactly one port.c per image. */
#ifndef TINYDEPLOY_BOARDS_EMULATED_H_
#define TINYDEPLOY_BOARDS_EMULATED_H_

#include <stddef.h>
#include <stdint.h>

#define TD_REG(address) (*(volatile uint32_t*)(address))

/* CMSDK APB UART registers. */
enum {
  kUartData = 0x00,
  kUartState = 0x04,   /* bit 0: TX full, bit 1: RX full */
  kUartControl = 0x08, /* bit 0: TX enable, bit 1: RX enable */
  kUartBaudDivisor = 0x10
};

static inline void td_cmsdk_uart_init(uint32_t base) {
  TD_REG(base + kUartBaudDivisor) = 16; /* the smallest divisor the UART accepts */
  TD_REG(base + kUartControl) = 0x3;
}

static inline void td_cmsdk_uart_write(uint32_t base, const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    while (TD_REG(base + kUartState) & 0x1u) {
    }
    TD_REG(base + kUartData) = data[i];
  }
}

static inline int td_cmsdk_uart_read(uint32_t base, uint8_t* byte) {
  if ((TD_REG(base + kUartState) & 0x2u) == 0) return 0;
  *byte = (uint8_t)TD_REG(base + kUartData);
  return 1;
}

/* SysTick on the processor clock, counting down from 2^24 - 1; its wrap interrupt extends it to
 * 64 bits. */
static volatile uint32_t td_systick_wraps;

void td_systick_handler(void) { ++td_systick_wraps; }

static inline void td_systick_start(void) {
  TD_REG(0xE000E014u) = 0xFFFFFFu; /* reload */
  TD_REG(0xE000E018u) = 0;         /* current value */
  TD_REG(0xE000E010u) = 0x7u;      /* processor clock, interrupt, enable */
}

static inline uint64_t td_systick_ticks(void) {
  uint32_t wraps;
  uint32_t value;
  do {
    wraps = td_systick_wraps;
    value = TD_REG(0xE000E018u);
  } while (wraps != td_systick_wraps);
  return ((uint64_t)wraps << 24) + (0xFFFFFFu - value);
}

/* Semihosting SYS_EXIT_EXTENDED (0x20) with ADP_Stopped_ApplicationExit: QEMU exits with `code`. */
static inline void td_semihosting_exit(int code) {
  uint32_t block[2] = {0x20026u, (uint32_t)code};
  register uint32_t r0 __asm__("r0") = 0x20u;
  register uint32_t* r1 __asm__("r1") = block;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  for (;;) {
  }
}

#endif /* TINYDEPLOY_BOARDS_EMULATED_H_ */
