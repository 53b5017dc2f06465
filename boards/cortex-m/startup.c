/* Start-up for the Cortex-M boards: the vector table, the reset handler (copies .data, zeroes
 * .bss, enables the FPU, runs static initialisers, calls main) and fault handlers that end the
 * run through the port instead of spinning silently. The memory layout comes from the board's
 * linker script (boards/<board>/board.ld), which defines the symbols declared below. */
#include <stdint.h>

#include "tinydeploy/port.h"

extern uint32_t __stack_top;
extern uint32_t __data_load;
extern uint32_t __data_start;
extern uint32_t __data_end;
extern uint32_t __bss_start;
extern uint32_t __bss_end;
typedef void (*td_initializer)(void);
extern td_initializer __init_array_start[];
extern td_initializer __init_array_end[];

int main(void);
void td_reset_handler(void);
void td_fault_handler(void);
void td_default_handler(void);
void td_systick_handler(void) __attribute__((weak, alias("td_default_handler")));

/* Exit codes of a run that did not return from main, seen by the PC as the process's status. */
enum { kExitFault = 0xFA, kExitUnexpectedInterrupt = 0xFB };

typedef void (*td_vector)(void);
__attribute__((section(".vectors"), used)) const td_vector td_vector_table[16] = {
    (td_vector)(uintptr_t)&__stack_top, /* initial stack pointer */
    td_reset_handler,
    td_default_handler, /* NMI */
    td_fault_handler,   /* HardFault */
    td_fault_handler,   /* MemManage */
    td_fault_handler,   /* BusFault */
    td_fault_handler,   /* UsageFault */
    td_fault_handler,   /* SecureFault (Armv8-M) */
    0,
    0,
    0,
    td_default_handler, /* SVCall */
    td_default_handler, /* DebugMonitor */
    0,
    td_default_handler, /* PendSV */
    td_systick_handler,
};

void td_fault_handler(void) { td_port_exit(kExitFault); }
void td_default_handler(void) { td_port_exit(kExitUnexpectedInterrupt); }

void td_reset_handler(void) {
  const uint32_t* from = &__data_load;
  for (uint32_t* to = &__data_start; to < &__data_end;) *to++ = *from++;
  for (uint32_t* to = &__bss_start; to < &__bss_end;) *to++ = 0;
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
  /* CPACR: full access to CP10 and CP11 (the FPU, and MVE on Armv8.1-M). */
  *(volatile uint32_t*)0xE000ED88u |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  for (td_initializer* init = __init_array_start; init < __init_array_end; ++init) (*init)();
  td_port_exit(main());
}
