/* tinydeploy's QEMU TCG plugin: per-layer instruction counts, memory accesses, branches, a
 * simulated instruction and data cache, and estimated cycles of a Cortex-M4 or Cortex-M55.
 *
 * The firmware (firmware/validator/validator.cc, profiled invoke) marks the inference with
 * byte stores into one array, td_model_profile_marks[2 + layers]:
 *   index 0        the inference begins
 *   index 1        the inference ends
 *   index 2 + L    layer L has just finished (once per output of it)
 * QEMU 7.2's plugin API gives the address of a store, not its value, so the address says which
 * event it is. Whatever executes between two marks belongs to the layer whose mark ends it; what
 * follows the last layer mark up to the end mark is the "tail" (the hook's return, invoke's
 * epilogue), so the layers plus the tail add up to the whole inference exactly.
 *
 * Arguments (-plugin libtinydeploy_profile.so,marks=0x20000100,layers=12,out=FILE,...):
 *   marks=ADDR     address of td_model_profile_marks (from the image's symbol table)
 *   layers=N       the model's layer count
 *   out=FILE       where the records go: a header, then one block per inference (see below)
 *   core=m4|m55    the cost model used for the estimated cycles (default m4)
 *   icache=S:W:L   instruction cache size in bytes, ways, line bytes (default 32768:2:32)
 *   dcache=S:W:L   data cache geometry (default 32768:4:32)
 *
 * Counted (exact under TCG): instructions executed, load and store accesses (as QEMU performs
 * them: an LDM of four registers is four loads), branch instructions executed and branches taken
 * (an instruction that can branch, followed by one that is not the next in memory). Simulated:
 * both caches, LRU, allocate on every miss; "access" is every lookup request, "hitsline" one that
 * falls in the same line as the previous access of that cache (served by the line buffer, no tag
 * lookup), "taglookup" the others and "hitslookup" those of them found in the cache. Estimated:
 * cycles, from the instruction-class table in cost_models below. See README.md, `profile`. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The part of QEMU's plugin API this plugin uses (QEMU 7.2, plugin API version 1).
 * Declared here because Debian packages no qemu-plugin.h; the layouts and signatures follow
 * QEMU 7.2's include/qemu/qemu-plugin.h. */
#define QEMU_PLUGIN_VERSION 1
#define TD_PLUGIN_EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
typedef uint32_t qemu_plugin_meminfo_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;

typedef struct qemu_info_t {
  const char* target_name;
  struct {
    int min;
    int cur;
  } version;
  bool system_emulation;
  union {
    struct {
      int smp_vcpus;
      int max_vcpus;
    } system;
  };
} qemu_info_t;

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_R = 1, QEMU_PLUGIN_MEM_W, QEMU_PLUGIN_MEM_RW };

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void* userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void* userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb* tb);
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info,
                                          uint64_t vaddr, void* userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb* tb);
struct qemu_plugin_insn* qemu_plugin_tb_get_insn(const struct qemu_plugin_tb* tb, size_t idx);
const void* qemu_plugin_insn_data(const struct qemu_plugin_insn* insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn* insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn* insn);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn* insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void* userdata);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn* insn, qemu_plugin_vcpu_mem_cb_t cb,
                                      enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw,
                                      void* userdata);
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info);
unsigned int qemu_plugin_mem_size_shift(qemu_plugin_meminfo_t info);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void* userdata);
void qemu_plugin_outs(const char* string);

TD_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
TD_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc,
                                         char** argv);

/* ---- Cost models (estimated cycles). Sources: the Cortex-M4 TRM's instruction timings (which
 * refer to the Cortex-M3 table for the integer instructions: data operations 1, taken branch
 * 1 + P with P = 2 pipeline refill cycles added, single load/store 2 with neighbours pipelined
 * to 1, LDM/STM/PUSH/POP 1 + N, MUL and the DSP multiply-accumulates 1, SDIV/UDIV 2..12) and its
 * FPU table (VADD/VMUL 1, VMLA/VFMA 3, VDIV/VSQRT 14); the Cortex-M55 TRM: the same scalar
 * pipeline model with a 64-bit data interface, and MVE instructions processed two beats per
 * cycle (a 128-bit vector instruction: 2 cycles), low-overhead loop ends without a refill.
 * Where a manual gives a range (divide) the midpoint is used. Caches add no cycles here: the
 * cache figures are reported beside the estimate, not folded into it. */
enum insn_class {
  CLASS_PLAIN,     /* data processing, compare, move, multiply, hint: 1 cycle */
  CLASS_BRANCH,    /* can change the PC: +P when taken */
  CLASS_LOOP_END,  /* Armv8.1-M low-overhead branch (WLS, DLS, LE): no refill when taken */
  CLASS_DIVIDE,    /* SDIV, UDIV */
  CLASS_FP_MAC,    /* VMLA, VMLS, VNMLA, VNMLS, VFMA, VFMS, VFNMA, VFNMS */
  CLASS_FP_DIVIDE, /* VDIV, VSQRT */
  CLASS_VECTOR,    /* MVE (Helium) on the Cortex-M55 */
};

struct cost_model {
  const char* name;
  unsigned taken_branch_refill; /* P */
  unsigned divide;
  unsigned fp_mac;
  unsigned fp_divide;
  unsigned vector;
  unsigned data_bus_bytes; /* one cycle moves this many bytes of a load or store */
};

static const struct cost_model cost_models[] = {
    {"m4", 2, 7, 3, 14, 1, 4},
    {"m55", 2, 7, 3, 14, 2, 8},
};

/* ---- Counters. */
enum {
  F_INSNS,
  F_LOADS,
  F_STORES,
  F_BRANCHES,
  F_TAKEN,
  F_CYCLES,
  F_IACCESS,
  F_ITAGLOOKUP,
  F_IHITSLOOKUP,
  F_IHITSLINE,
  F_DACCESS,
  F_DTAGLOOKUP,
  F_DHITSLOOKUP,
  F_DHITSLINE,
  F_COUNT
};
static const char* const field_names[F_COUNT] = {
    "instructions", "loads",      "stores",      "branches",    "taken_branches",
    "est_cycles",   "iaccess",    "itaglookup",  "ihitslookup", "ihitsline",
    "daccess",      "dtaglookup", "dhitslookup", "dhitsline"};

struct counters {
  uint64_t v[F_COUNT];
};

/* ---- Caches. */
struct cache {
  uint32_t sets;
  uint32_t ways;
  uint32_t line_shift;
  uint32_t* tags;  /* sets * ways line numbers, UINT32_MAX when empty */
  uint64_t* stamp; /* last use, for LRU */
  uint64_t clock;
  uint32_t last_line;
  bool last_valid;
};

enum cache_result { CACHE_LINE_BUFFER, CACHE_HIT, CACHE_MISS };

static bool cache_init(struct cache* c, const char* spec, const char* what) {
  unsigned long size = 0;
  unsigned long ways = 0;
  unsigned long line = 0;
  if (sscanf(spec, "%lu:%lu:%lu", &size, &ways, &line) != 3 || size == 0 || ways == 0 || line < 4 ||
      (line & (line - 1)) != 0 || size % (ways * line) != 0) {
    fprintf(stderr, "tinydeploy_profile: %s=%s: expected SIZE:WAYS:LINE, LINE a power of two\n",
            what, spec);
    return false;
  }
  c->ways = (uint32_t)ways;
  c->sets = (uint32_t)(size / (ways * line));
  c->line_shift = 0;
  while ((1ul << c->line_shift) < line) ++c->line_shift;
  c->tags = malloc(sizeof(uint32_t) * c->sets * c->ways);
  c->stamp = calloc((size_t)c->sets * c->ways, sizeof(uint64_t));
  if (c->tags == NULL || c->stamp == NULL) return false;
  memset(c->tags, 0xFF, sizeof(uint32_t) * c->sets * c->ways);
  return true;
}

static enum cache_result cache_access(struct cache* c, uint32_t address) {
  const uint32_t line = address >> c->line_shift;
  if (c->last_valid && line == c->last_line) return CACHE_LINE_BUFFER;
  c->last_line = line;
  c->last_valid = true;
  const size_t base = (size_t)(line % c->sets) * c->ways;
  size_t victim = base;
  ++c->clock;
  for (size_t w = base; w < base + c->ways; ++w) {
    if (c->tags[w] == line) {
      c->stamp[w] = c->clock;
      return CACHE_HIT;
    }
    if (c->stamp[w] < c->stamp[victim]) victim = w;
  }
  c->tags[victim] = line;
  c->stamp[victim] = c->clock;
  return CACHE_MISS;
}

static void count_cache(struct counters* k, enum cache_result r, int access) {
  ++k->v[access];
  if (r == CACHE_LINE_BUFFER) {
    ++k->v[access + 3];
  } else {
    ++k->v[access + 1];
    if (r == CACHE_HIT) ++k->v[access + 2];
  }
}

/* ---- State. One vCPU (the Cortex-M boards have one), so no locking. */
struct insn_info {
  uint32_t address;
  uint8_t size;
  uint8_t klass;
};

static const struct cost_model* model = &cost_models[0];
static struct cache icache;
static struct cache dcache;
static uint64_t marks_base;
static uint64_t marks_count;
static uint32_t layer_count;
static FILE* out;

static bool active;
static uint64_t inference;
static struct counters segment; /* since the last mark */
static struct counters* layers; /* this inference, per layer */
static bool* layer_seen;
static struct counters whole; /* this inference */

/* The instruction executing now, finished (its cycles settled) when the next one starts. */
static const struct insn_info* current;
static uint32_t current_bytes;   /* bytes it loaded or stored so far */
static bool previous_was_memory; /* for load/store pipelining */

static void add(struct counters* to, const struct counters* from) {
  for (int f = 0; f < F_COUNT; ++f) to->v[f] += from->v[f];
}

static void finish_current(void) {
  if (current == NULL) return;
  unsigned cycles = 1;
  switch ((enum insn_class)current->klass) {
    case CLASS_DIVIDE:
      cycles = model->divide;
      break;
    case CLASS_FP_MAC:
      cycles = model->fp_mac;
      break;
    case CLASS_FP_DIVIDE:
      cycles = model->fp_divide;
      break;
    case CLASS_VECTOR:
      cycles = model->vector;
      break;
    default:
      break;
  }
  const bool memory = current_bytes > 0;
  if (memory && current->klass != CLASS_VECTOR) {
    cycles += (current_bytes + model->data_bus_bytes - 1) / model->data_bus_bytes;
    if (previous_was_memory) cycles -= 1;
  }
  if (active) segment.v[F_CYCLES] += cycles;
  previous_was_memory = memory;
  current = NULL;
  current_bytes = 0;
}

static void write_counters(const char* label, long index, const struct counters* k) {
  if (index >= 0) {
    fprintf(out, "%s %llu %ld", label, (unsigned long long)inference, index);
  } else {
    fprintf(out, "%s %llu -", label, (unsigned long long)inference);
  }
  for (int f = 0; f < F_COUNT; ++f) fprintf(out, " %llu", (unsigned long long)k->v[f]);
  fputc('\n', out);
}

static void on_mark(uint64_t index) {
  if (index == 0) {
    memset(&segment, 0, sizeof(segment));
    memset(&whole, 0, sizeof(whole));
    memset(layers, 0, sizeof(struct counters) * layer_count);
    memset(layer_seen, 0, sizeof(bool) * layer_count);
    active = true;
    return;
  }
  if (!active) return;
  add(&whole, &segment);
  if (index == 1) {
    for (uint32_t l = 0; l < layer_count; ++l) {
      if (layer_seen[l]) write_counters("layer", (long)l, &layers[l]);
    }
    write_counters("tail", -1, &segment);
    write_counters("total", -1, &whole);
    fflush(out);
    ++inference;
    active = false;
  } else {
    const uint64_t layer = index - 2;
    add(&layers[layer], &segment);
    layer_seen[layer] = true;
  }
  memset(&segment, 0, sizeof(segment));
}

static void on_insn(unsigned int vcpu, void* userdata) {
  (void)vcpu;
  const struct insn_info* insn = userdata;
  const struct insn_info* before = current;
  finish_current();
  const enum cache_result r = cache_access(&icache, insn->address);
  if (!active) {
    current = insn;
    return;
  }
  if (before != NULL && (before->klass == CLASS_BRANCH || before->klass == CLASS_LOOP_END) &&
      insn->address != before->address + before->size) {
    ++segment.v[F_TAKEN];
    if (before->klass == CLASS_BRANCH) segment.v[F_CYCLES] += model->taken_branch_refill;
  }
  ++segment.v[F_INSNS];
  if (insn->klass == CLASS_BRANCH || insn->klass == CLASS_LOOP_END) ++segment.v[F_BRANCHES];
  count_cache(&segment, r, F_IACCESS);
  current = insn;
}

/* Peripherals and the system space are not cached. */
static bool cacheable(uint64_t address) {
  return !(address >= 0x40000000u && address < 0x60000000u) && address < 0xE0000000u;
}

static void on_memory(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t address,
                      void* userdata) {
  (void)vcpu;
  (void)userdata;
  const bool store = qemu_plugin_mem_is_store(info);
  current_bytes += 1u << qemu_plugin_mem_size_shift(info);
  if (cacheable(address)) {
    const enum cache_result r = cache_access(&dcache, (uint32_t)address);
    if (active) count_cache(&segment, r, F_DACCESS);
  }
  if (active) ++segment.v[store ? F_STORES : F_LOADS];
  if (store && address - marks_base < marks_count) on_mark(address - marks_base);
}

/* ---- Decoding the instruction classes (Thumb-2, Armv7E-M and Armv8.1-M). */
static enum insn_class classify16(uint32_t h) {
  if ((h & 0xF000) == 0xD000 && (h & 0x0E00) != 0x0E00) return CLASS_BRANCH; /* B<c> T1 */
  if ((h & 0xF800) == 0xE000) return CLASS_BRANCH;                           /* B T2 */
  if ((h & 0xF500) == 0xB100) return CLASS_BRANCH;                           /* CBZ, CBNZ */
  if ((h & 0xFF00) == 0x4700) return CLASS_BRANCH;                           /* BX, BLX */
  if ((h & 0xFF00) == 0xBD00) return CLASS_BRANCH;                           /* POP {..., pc} */
  if ((h & 0xFC87) == 0x4487) return CLASS_BRANCH; /* ADD pc, Rm / MOV pc, Rm */
  return CLASS_PLAIN;
}

static enum insn_class classify32(uint32_t h1, uint32_t h2, bool vector_unit) {
  if ((h1 & 0xF800) == 0xF000 && (h2 & 0x8000) != 0) {
    const uint32_t op = h2 & 0xD000;
    if (op == 0xC000) return CLASS_LOOP_END; /* WLS, DLS, LE (Armv8.1-M) */
    if (op == 0x8000) {
      const uint32_t cond = (h1 >> 6) & 0xF;
      return (cond & 0xE) == 0xE ? CLASS_PLAIN : CLASS_BRANCH; /* B<c> T3, or MSR/MRS/hints */
    }
    return CLASS_BRANCH; /* B T4, BL */
  }
  if (((h1 & 0xFFD0) == 0xE890 || (h1 & 0xFFD0) == 0xE910) && (h2 & 0x8000) != 0) {
    return CLASS_BRANCH; /* LDM with pc */
  }
  if ((h1 & 0xFFF0) == 0xE8D0 && (h2 & 0xFFE0) == 0xF000) return CLASS_BRANCH; /* TBB, TBH */
  if (((h1 & 0xFFF0) == 0xF8D0 || (h1 & 0xFFF0) == 0xF850 || (h1 & 0xFF7F) == 0xF85F) &&
      (h2 >> 12) == 0xF) {
    return CLASS_BRANCH; /* LDR pc */
  }
  if (((h1 & 0xFFF0) == 0xFB90 || (h1 & 0xFFF0) == 0xFBB0) && (h2 & 0xF0F0) == 0xF0F0) {
    return CLASS_DIVIDE;
  }
  const bool coprocessor_space = (h1 & 0xEC00) == 0xEC00;
  const bool floating_point = ((h2 >> 9) & 7) == 5; /* coprocessor 10/11 */
  if (coprocessor_space && floating_point && (h1 & 0xFF00) == 0xEE00 && (h2 & 0x10) == 0) {
    const uint32_t opc1 = ((h1 >> 5) & 4) | ((h1 >> 4) & 3);
    if (opc1 == 0 || opc1 == 1 || opc1 == 5 || opc1 == 6) return CLASS_FP_MAC;
    if (opc1 == 4) return CLASS_FP_DIVIDE;
    if (opc1 == 7 && (h1 & 0xF) == 1 && ((h2 >> 6) & 3) == 3) return CLASS_FP_DIVIDE; /* VSQRT */
    return CLASS_PLAIN;
  }
  if (vector_unit && ((h1 & 0xEF00) == 0xEF00 || (coprocessor_space && !floating_point))) {
    return CLASS_VECTOR;
  }
  return CLASS_PLAIN;
}

/* Instruction records outlive their translation blocks (QEMU calls back with them while the
 * block is cached): kept in chunks, one record per translated instruction. */
struct chunk {
  struct chunk* next;
  size_t used;
  struct insn_info items[4096];
};
static struct chunk* chunks;

static struct insn_info* new_insn_info(void) {
  if (chunks == NULL || chunks->used == sizeof(chunks->items) / sizeof(chunks->items[0])) {
    struct chunk* c = calloc(1, sizeof(struct chunk));
    if (c == NULL) abort();
    c->next = chunks;
    chunks = c;
  }
  return &chunks->items[chunks->used++];
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  const bool vector_unit = model == &cost_models[1];
  const size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; ++i) {
    struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    const uint8_t* bytes = qemu_plugin_insn_data(insn);
    const size_t size = qemu_plugin_insn_size(insn);
    struct insn_info* info = new_insn_info();
    info->address = (uint32_t)qemu_plugin_insn_vaddr(insn);
    info->size = (uint8_t)size;
    const uint32_t h1 = (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8;
    if (size >= 4) {
      const uint32_t h2 = (uint32_t)bytes[2] | (uint32_t)bytes[3] << 8;
      info->klass = (uint8_t)classify32(h1, h2, vector_unit);
    } else {
      info->klass = (uint8_t)classify16(h1);
    }
    qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_NO_REGS, info);
    qemu_plugin_register_vcpu_mem_cb(insn, on_memory, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
                                     NULL);
  }
}

static void on_qemu_exit(qemu_plugin_id_t id, void* userdata) {
  (void)id;
  (void)userdata;
  if (out != NULL) fflush(out);
}

static const char* value_of(const char* arg, const char* key) {
  const size_t n = strlen(key);
  return strncmp(arg, key, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

TD_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc,
                                         char** argv) {
  if (info->version.min > QEMU_PLUGIN_VERSION || info->version.cur < QEMU_PLUGIN_VERSION) {
    fprintf(stderr, "tinydeploy_profile: QEMU's plugin API %d..%d does not include version %d\n",
            info->version.min, info->version.cur, QEMU_PLUGIN_VERSION);
    return 1;
  }
  const char* out_path = NULL;
  const char* icache_spec = "32768:2:32";
  const char* dcache_spec = "32768:4:32";
  for (int i = 0; i < argc; ++i) {
    const char* v;
    if ((v = value_of(argv[i], "marks")) != NULL) {
      marks_base = strtoull(v, NULL, 0);
    } else if ((v = value_of(argv[i], "layers")) != NULL) {
      layer_count = (uint32_t)strtoul(v, NULL, 0);
    } else if ((v = value_of(argv[i], "out")) != NULL) {
      out_path = v;
    } else if ((v = value_of(argv[i], "icache")) != NULL) {
      icache_spec = v;
    } else if ((v = value_of(argv[i], "dcache")) != NULL) {
      dcache_spec = v;
    } else if ((v = value_of(argv[i], "core")) != NULL) {
      if (strcmp(v, "m4") == 0) {
        model = &cost_models[0];
      } else if (strcmp(v, "m55") == 0) {
        model = &cost_models[1];
      } else {
        fprintf(stderr, "tinydeploy_profile: core=%s: expected m4 or m55\n", v);
        return 1;
      }
    } else {
      fprintf(stderr, "tinydeploy_profile: unknown argument '%s'\n", argv[i]);
      return 1;
    }
  }
  if (marks_base == 0 || out_path == NULL) {
    fprintf(stderr, "tinydeploy_profile: needs marks=ADDRESS and out=FILE\n");
    return 1;
  }
  if (!cache_init(&icache, icache_spec, "icache") || !cache_init(&dcache, dcache_spec, "dcache")) {
    return 1;
  }
  marks_count = 2 + (uint64_t)layer_count;
  layers = calloc(layer_count + 1u, sizeof(struct counters));
  layer_seen = calloc(layer_count + 1u, sizeof(bool));
  out = fopen(out_path, "w");
  if (layers == NULL || layer_seen == NULL || out == NULL) {
    fprintf(stderr, "tinydeploy_profile: cannot write %s\n", out_path);
    return 1;
  }
  fprintf(out,
          "# tinydeploy_profile 1 core=%s icache=%s dcache=%s layers=%u\n# fields:", model->name,
          icache_spec, dcache_spec, layer_count);
  for (int f = 0; f < F_COUNT; ++f) fprintf(out, " %s", field_names[f]);
  fputc('\n', out);
  fflush(out);
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
  return 0;
}
