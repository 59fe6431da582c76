/*
 * swaptest: the guest's workload for the VM swap test (testkit/vm, KernelSwapTest).
 *
 * Fills a working set larger than the guest's RAM with pages of known content, so that the
 * kernel must swap, then checks every page:
 *
 *   1. fill     every page in order (swap-out: the pages filled first are pushed out)
 *   2. verify   every page in a seeded random order (swap-in)
 *   3. rewrite  every REWRITE_EVERY-th page with new content (its old swap slot is freed)
 *   4. verify   every page again in another random order
 *
 * A page's content is a pure function of (seed, page index, generation), so a check
 * regenerates what the page must hold and compares. Kinds, chosen per page by a hash:
 * a quarter zero pages, five eighths text-like pages (lines of a log with a random number
 * each: lz4 gets about 3x), an eighth seeded random (incompressible); lz4 gets about 3x
 * over the whole set, in the range zram reports for real anonymous memory. Every non-zero page carries its index and
 * generation in its first 16 bytes, so a page served from the wrong offset is a mismatch too.
 *
 * Output: progress lines, then one line the test parses:
 *   SWAPTEST pages=N verified=V mismatches=M rewritten=R out_mbps=X in_mbps=Y in2_mbps=Z
 * where verified counts the pages checked in both verify passes (2 x N when all were read).
 * Exit status 0 when no page mismatched, 1 otherwise, 2 on bad arguments.
 *
 * Build: gcc -static -O2 -o swaptest swaptest.c
 * Usage: swaptest MIB [SEED]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096
#define REWRITE_EVERY 4
#define MAX_REPORTED 10

static uint64_t seed;

static uint64_t mix(uint64_t x) { /* splitmix64's finalizer */
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* Lines of a log-like text: what a page of a program's heap strings looks like to lz4. */
static const char *const LINES[] = {
    "INFO  swap: page written to the device, slot allocated from the current cluster",
    "DEBUG zsmalloc: object stored in size class 2048, zspage of four pages",
    "WARN  reclaim: anonymous memory under pressure, scanning the inactive list",
    "INFO  actor: message received from the tree shard, answering the connection",
    "DEBUG nbd: request handled, reply written with the page that was asked for",
    "INFO  lz4: block compressed, the ratio is what the pool reports as its figure",
    "TRACE discard: cluster freed, trim sent to the device for the whole range",
    "INFO  the quick brown fox jumps over the lazy dog and the slow one sleeps",
    "ERROR none: this line only looks like an error, the test never matches it",
    "DEBUG writeback: idle page moved to the backing file, still compressed",
    "INFO  kernel: swapped in on a fault, read ahead of the neighbouring slots",
    "DEBUG memory: chunk released to the operating system after migration",
};
#define NLINES (sizeof LINES / sizeof LINES[0])

enum kind { ZERO, TEXT, RANDOM };

static enum kind kind_of(uint64_t index, uint32_t gen) {
  unsigned k = mix(seed ^ (index * 4 + gen) ^ 0x5151) % 8;
  return k < 2 ? ZERO : k == 7 ? RANDOM : TEXT;
}

/* What page `index` holds in generation `gen`. */
static void generate(unsigned char *p, uint64_t index, uint32_t gen) {
  enum kind k = kind_of(index, gen);
  if (k == ZERO) {
    memset(p, 0, PAGE);
    return;
  }
  uint64_t s = mix(seed ^ (index << 8) ^ gen);
  if (k == RANDOM) {
    for (int i = 0; i < PAGE; i += 8) {
      s ^= s << 13; s ^= s >> 7; s ^= s << 17; /* xorshift64 */
      memcpy(p + i, &s, 8);
    }
  } else {
    int at = 0;
    while (at < PAGE) {
      s ^= s << 13; s ^= s >> 7; s ^= s << 17;
      char line[128];
      int n = snprintf(line, sizeof line, "%08llx %s\n", (unsigned long long)(s >> 32), LINES[s % NLINES]);
      if (n > PAGE - at) n = PAGE - at;
      memcpy(p + at, line, n);
      at += n;
    }
  }
  memcpy(p, &index, 8);
  memcpy(p + 8, &gen, 4);
  memcpy(p + 12, "ZSWP", 4);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t pages;
static unsigned char *mem;
static uint32_t *gens;
static uint64_t mismatches, verified;

static void shuffle(uint64_t *order, uint64_t salt) {
  for (uint64_t i = 0; i < pages; i++) order[i] = i;
  uint64_t s = mix(seed ^ salt);
  for (uint64_t i = pages - 1; i > 0; i--) {
    s = mix(s);
    uint64_t j = s % (i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

/* Checks every page in the order given; returns MB/s. */
static double verify(const char *name, uint64_t *order) {
  unsigned char expect[PAGE];
  double t0 = now();
  for (uint64_t n = 0; n < pages; n++) {
    uint64_t i = order[n];
    generate(expect, i, gens[i]);
    if (memcmp(mem + i * PAGE, expect, PAGE) != 0) {
      if (++mismatches <= MAX_REPORTED) {
        uint64_t got_index;
        uint32_t got_gen;
        memcpy(&got_index, mem + i * PAGE, 8);
        memcpy(&got_gen, mem + i * PAGE + 8, 4);
        printf("swaptest: MISMATCH page %llu (generation %u): holds index %llu generation %u\n",
               (unsigned long long)i, gens[i], (unsigned long long)got_index, got_gen);
      }
    }
    verified++;
    if ((n + 1) % (pages / 4) == 0) {
      printf("swaptest: %s %llu%%\n", name, (unsigned long long)((n + 1) * 100 / pages));
      fflush(stdout);
    }
  }
  double s = now() - t0;
  double mbps = pages * (double)PAGE / 1e6 / s;
  printf("swaptest: %s: %llu pages in %.1f s, %.1f MB/s\n", name, (unsigned long long)pages, s, mbps);
  fflush(stdout);
  return mbps;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 || atol(argv[1]) <= 0) {
    fprintf(stderr, "usage: swaptest MIB [SEED]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  pages = (uint64_t)atol(argv[1]) * (1 << 20) / PAGE;
  seed = argc == 3 ? strtoull(argv[2], NULL, 0) : 17;
  mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  /* bookkeeping stays small: 4 + 8 bytes a page */
  gens = calloc(pages, sizeof *gens);
  uint64_t *order = malloc(pages * sizeof *order);
  if (mem == MAP_FAILED || gens == NULL || order == NULL) {
    perror("swaptest: allocation");
    return 2;
  }
  printf("swaptest: %llu pages (%s MiB), seed %llu\n", (unsigned long long)pages, argv[1],
         (unsigned long long)seed);

  double t0 = now();
  for (uint64_t i = 0; i < pages; i++) {
    generate(mem + i * PAGE, i, 0);
    if ((i + 1) % (pages / 4) == 0) {
      printf("swaptest: fill %llu%%\n", (unsigned long long)((i + 1) * 100 / pages));
    }
  }
  double fill_s = now() - t0;
  double out_mbps = pages * (double)PAGE / 1e6 / fill_s;
  printf("swaptest: fill: %llu pages in %.1f s, %.1f MB/s\n", (unsigned long long)pages, fill_s, out_mbps);

  shuffle(order, 1);
  double in_mbps = verify("verify", order);

  uint64_t rewritten = 0;
  for (uint64_t i = 0; i < pages; i += REWRITE_EVERY) {
    gens[i] = 1;
    generate(mem + i * PAGE, i, 1);
    rewritten++;
  }
  printf("swaptest: rewrote %llu pages\n", (unsigned long long)rewritten);

  shuffle(order, 2);
  double in2_mbps = verify("verify-after-rewrite", order);

  printf("SWAPTEST pages=%llu verified=%llu mismatches=%llu rewritten=%llu out_mbps=%.1f in_mbps=%.1f in2_mbps=%.1f\n",
         (unsigned long long)pages, (unsigned long long)verified, (unsigned long long)mismatches,
         (unsigned long long)rewritten, out_mbps, in_mbps, in2_mbps);
  return mismatches == 0 ? 0 : 1;
}
