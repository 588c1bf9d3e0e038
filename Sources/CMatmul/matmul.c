#include "parseval_matmul.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// fp32 → bf16 (no oneDNN needed): round to nearest even on the bits; NaN stays a quiet NaN.
// Compiled per instruction set like CKernels; bandwidth-bound either way.

#if defined(__x86_64__) && defined(__clang__)
#define PV_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define PV_CLONES
#endif

PV_CLONES
void pv_convert_rows_to_bf16(const float *src, int64_t src_ld, uint16_t *dst, int64_t dst_ld,
                             int64_t row_begin, int64_t row_end, int64_t columns, float scale) {
    for (int64_t row = row_begin; row < row_end; row++) {
        const float *in = src + row * src_ld;
        uint16_t *out = dst + row * dst_ld;
        for (int64_t j = 0; j < columns; j++) {
            float x = in[j] * scale;
            uint32_t u;
            memcpy(&u, &x, sizeof u);
            uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
            uint32_t nan = (u >> 16) | 0x40u;
            out[j] = (uint16_t)(((u & 0x7FFFFFFFu) > 0x7F800000u) ? nan : rounded);
        }
    }
}

enum { scratch_slots = 7, onednn_scratchpad_slot = 6 };
static __thread void *scratch_buffer[scratch_slots];
static __thread int64_t scratch_capacity[scratch_slots];

void *pv_thread_scratch(int slot, int64_t bytes) {
    if (slot < 0 || slot >= scratch_slots) return NULL;
    if (bytes > scratch_capacity[slot]) {
        free(scratch_buffer[slot]);
        int64_t capacity = (bytes + 63) & ~(int64_t)63;
        scratch_buffer[slot] = aligned_alloc(64, (size_t)capacity);
        scratch_capacity[slot] = scratch_buffer[slot] ? capacity : 0;
    }
    return scratch_buffer[slot];
}

// ---------------------------------------------------------------------------------------------
// oneDNN, when its headers were present at build time.

#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>
#define PV_HAVE_ONEDNN 1
#else
#define PV_HAVE_ONEDNN 0
#endif

#if PV_HAVE_ONEDNN

#define PV_STRING2(x) #x
#define PV_STRING(x) PV_STRING2(x)
#define PV_SONAME "libdnnl.so." PV_STRING(DNNL_VERSION_MAJOR)

// Every oneDNN function used, resolved with dlsym into pointers of the header's own types.
#define PV_COMMON_FUNCTIONS(X) \
    X(dnnl_version) X(dnnl_sgemm) X(dnnl_get_effective_cpu_isa) \
    X(dnnl_engine_create) X(dnnl_stream_create) \
    X(dnnl_primitive_attr_create) X(dnnl_primitive_attr_destroy) X(dnnl_primitive_attr_set_post_ops) \
    X(dnnl_primitive_attr_set_scratchpad_mode) X(dnnl_memory_desc_get_size) \
    X(dnnl_post_ops_create) X(dnnl_post_ops_destroy) X(dnnl_post_ops_append_sum) \
    X(dnnl_primitive_desc_query) X(dnnl_primitive_desc_query_md) X(dnnl_primitive_desc_destroy) \
    X(dnnl_primitive_create) X(dnnl_primitive_destroy) X(dnnl_primitive_execute) \
    X(dnnl_memory_create) X(dnnl_memory_destroy) X(dnnl_stream_wait)
#if DNNL_VERSION_MAJOR >= 3
#define PV_VERSIONED_FUNCTIONS(X) \
    X(dnnl_memory_desc_create_with_strides) X(dnnl_memory_desc_destroy) X(dnnl_matmul_primitive_desc_create)
#else
#define PV_VERSIONED_FUNCTIONS(X) \
    X(dnnl_memory_desc_init_by_strides) X(dnnl_matmul_desc_init) X(dnnl_primitive_desc_create)
#endif

static struct {
#define PV_FIELD(name) __typeof__(&name) name;
    PV_COMMON_FUNCTIONS(PV_FIELD)
    PV_VERSIONED_FUNCTIONS(PV_FIELD)
#undef PV_FIELD
    // The OpenMP runtime oneDNN was built with (libgomp on Debian and Ubuntu): the thread count
    // is a per-thread setting there, so each call sets it on the calling thread.
    void (*omp_set_num_threads)(int);
    int (*omp_get_max_threads)(void);
    dnnl_engine_t engine;
} api;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded = 0;
static char status_text[512] = "oneDNN not loaded yet";
static char version_text[160] = "";
static const char *wait_policy = "OpenMP default wait";
static int wait_policy_set = 0;

// libgomp reads its wait policy once, when it loads. By default an idle worker spins (up to
// GOMP_SPINCOUNT iterations) after every parallel region, holding a core that FFTW, the
// elementwise loops and the other ranks need between products: measured on 2 cores, passive
// waiting took the FFTNet bf16 step from 0.609 to 0.473 s and fp32 from 0.807 to 0.698 s.
// oneDNN is what brings libgomp into the process, so the policy can be set just before it
// loads — unless the user chose one, or something else loaded libgomp already.
static void choose_wait_policy(void) {
    void *already = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (already) {
        dlclose(already);
        wait_policy = "OpenMP already loaded: its wait policy kept";
    } else if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) {
        wait_policy = "OpenMP wait policy from the environment";
    } else {
        setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
        wait_policy_set = 1;
        wait_policy = "passive OpenMP wait";
    }
}

static void load_onednn(void) {
    choose_wait_policy();
    void *library = dlopen(PV_SONAME, RTLD_NOW | RTLD_LOCAL);
    // libgomp has read the policy in its constructor; processes this one starts decide their own.
    if (wait_policy_set) unsetenv("OMP_WAIT_POLICY");
    if (!library) {
        snprintf(status_text, sizeof status_text, "%s not found (%s); install libdnnl (scripts/setup.sh)",
                 PV_SONAME, dlerror());
        return;
    }
#define PV_RESOLVE(name) \
    api.name = (__typeof__(api.name))dlsym(library, #name); \
    if (!api.name) { \
        snprintf(status_text, sizeof status_text, "%s lacks %s (built against oneDNN %d.%d)", \
                 PV_SONAME, #name, DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR); \
        return; \
    }
    PV_COMMON_FUNCTIONS(PV_RESOLVE)
    PV_VERSIONED_FUNCTIONS(PV_RESOLVE)
#undef PV_RESOLVE
    api.omp_set_num_threads = (void (*)(int))dlsym(library, "omp_set_num_threads");
    api.omp_get_max_threads = (int (*)(void))dlsym(library, "omp_get_max_threads");
    const dnnl_version_t *version = api.dnnl_version();
    if (version->major != DNNL_VERSION_MAJOR) {
        snprintf(status_text, sizeof status_text, "%s is oneDNN %d.%d.%d, built against %d.%d",
                 PV_SONAME, version->major, version->minor, version->patch, DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR);
        return;
    }
    if (version->cpu_runtime == DNNL_RUNTIME_OMP && !(api.omp_set_num_threads && api.omp_get_max_threads)) {
        snprintf(status_text, sizeof status_text, "%s uses OpenMP but omp_set_num_threads was not found", PV_SONAME);
        return;
    }
    if (version->cpu_runtime != DNNL_RUNTIME_OMP && version->cpu_runtime != DNNL_RUNTIME_SEQ) {
        // TBB or threadpool builds size their pools themselves; Parseval could not keep to its
        // thread count, so it stays on OpenBLAS.
        snprintf(status_text, sizeof status_text, "%s uses a CPU runtime other than OpenMP (%u)",
                 PV_SONAME, version->cpu_runtime);
        return;
    }
    if (api.dnnl_engine_create(&api.engine, dnnl_cpu, 0) != dnnl_success) {
        snprintf(status_text, sizeof status_text, "%s: no CPU engine", PV_SONAME);
        return;
    }
    snprintf(version_text, sizeof version_text, "oneDNN %d.%d.%d (%s, %s)", version->major, version->minor,
             version->patch, PV_SONAME, version->cpu_runtime == DNNL_RUNTIME_OMP ? wait_policy : "sequential");
    status_text[0] = 0;
    loaded = 1;
}

int pv_onednn_load(void) {
    pthread_once(&load_once, load_onednn);
    return loaded;
}

const char *pv_onednn_status(void) { pv_onednn_load(); return status_text; }
const char *pv_onednn_version(void) { pv_onednn_load(); return version_text; }

static void use_threads(int threads) {
    if (api.omp_set_num_threads && api.omp_get_max_threads() != threads) api.omp_set_num_threads(threads);
}

const char *pv_onednn_isa(void) {
    if (!pv_onednn_load()) return "";
    switch ((int)api.dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
#if DNNL_VERSION_MAJOR >= 3
    case dnnl_cpu_isa_avx2_vnni_2: return "avx2_vnni_2";
    case dnnl_cpu_isa_avx512_core_fp16: return "avx512_core_fp16";
    case dnnl_cpu_isa_avx512_core_amx_fp16: return "avx512_core_amx_fp16";
#endif
    default: return "default";  // no x86 ISA bits: aarch64, or an ISA newer than these names
    }
}

int pv_onednn_has_bf16_instructions(void) {
    if (!pv_onednn_load()) return 0;
    unsigned isa = (unsigned)api.dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16) return 1;
#if DNNL_VERSION_MAJOR >= 3
    if ((isa & dnnl_cpu_isa_avx2_vnni_2) == dnnl_cpu_isa_avx2_vnni_2) return 1;
#endif
    return 0;
}

int pv_onednn_sgemm(int threads, int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k,
                    float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                    float beta, float *c, int64_t ldc) {
    if (!pv_onednn_load()) return dnnl_runtime_error;
    use_threads(threads);
    return api.dnnl_sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                          beta, c, ldc);
}

// ---------------------------------------------------------------------------------------------
// bf16 products: one matmul primitive per shape, made once (oneDNN JIT-compiles it) and cached.
// Primitives execute concurrently from several threads (attention's per-head tasks): each thread
// has its own stream and its own scratchpad (user scratchpad mode — in oneDNN's default library
// mode the scratchpad is shared, and concurrent executions overwrite each other's packed operands).

typedef struct {
    int transpose_a, transpose_b;
    int64_t m, n, k, lda, ldb, ldc;
    float beta;
} shape_key;

typedef struct {
    shape_key key;
    dnnl_primitive_desc_t descriptor;
    dnnl_primitive_t primitive;
} cache_entry;

enum { cache_capacity = 1024 };
static cache_entry cache[cache_capacity];
static int cache_count = 0;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread dnnl_stream_t thread_stream;

static int same_shape(const shape_key *x, const shape_key *y) {
    return x->transpose_a == y->transpose_a && x->transpose_b == y->transpose_b && x->m == y->m && x->n == y->n
        && x->k == y->k && x->lda == y->lda && x->ldb == y->ldb && x->ldc == y->ldc && x->beta == y->beta;
}

// A 2-D descriptor with explicit strides: row-major, or transposed storage (column-major view).
static dnnl_status_t make_descriptors(const shape_key *key, dnnl_primitive_desc_t *descriptor) {
    dnnl_dims_t src_dims = {key->m, key->k}, weight_dims = {key->k, key->n}, dst_dims = {key->m, key->n};
    dnnl_dims_t src_strides = {key->transpose_a ? 1 : key->lda, key->transpose_a ? key->lda : 1};
    dnnl_dims_t weight_strides = {key->transpose_b ? 1 : key->ldb, key->transpose_b ? key->ldb : 1};
    dnnl_dims_t dst_strides = {key->ldc, 1};

    dnnl_primitive_attr_t attributes = NULL;
    dnnl_post_ops_t post_ops = NULL;
    dnnl_status_t status = api.dnnl_primitive_attr_create(&attributes);
    if (status == dnnl_success) status = api.dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user);
    if (status == dnnl_success && key->beta != 0) {
        status = api.dnnl_post_ops_create(&post_ops);
#if DNNL_VERSION_MAJOR >= 3
        if (status == dnnl_success) status = api.dnnl_post_ops_append_sum(post_ops, key->beta, 0, dnnl_data_type_undef);
#else
        if (status == dnnl_success) status = api.dnnl_post_ops_append_sum(post_ops, key->beta);
#endif
        if (status == dnnl_success) status = api.dnnl_primitive_attr_set_post_ops(attributes, post_ops);
    }
#if DNNL_VERSION_MAJOR >= 3
    dnnl_memory_desc_t src = NULL, weights = NULL, dst = NULL;
    if (status == dnnl_success) status = api.dnnl_memory_desc_create_with_strides(&src, 2, src_dims, dnnl_bf16, src_strides);
    if (status == dnnl_success) status = api.dnnl_memory_desc_create_with_strides(&weights, 2, weight_dims, dnnl_bf16, weight_strides);
    if (status == dnnl_success) status = api.dnnl_memory_desc_create_with_strides(&dst, 2, dst_dims, dnnl_f32, dst_strides);
    if (status == dnnl_success)
        status = api.dnnl_matmul_primitive_desc_create(descriptor, api.engine, src, weights, NULL, dst, attributes);
    if (src) api.dnnl_memory_desc_destroy(src);
    if (weights) api.dnnl_memory_desc_destroy(weights);
    if (dst) api.dnnl_memory_desc_destroy(dst);
#else
    dnnl_memory_desc_t src, weights, dst;
    dnnl_matmul_desc_t matmul;
    if (status == dnnl_success) status = api.dnnl_memory_desc_init_by_strides(&src, 2, src_dims, dnnl_bf16, src_strides);
    if (status == dnnl_success) status = api.dnnl_memory_desc_init_by_strides(&weights, 2, weight_dims, dnnl_bf16, weight_strides);
    if (status == dnnl_success) status = api.dnnl_memory_desc_init_by_strides(&dst, 2, dst_dims, dnnl_f32, dst_strides);
    if (status == dnnl_success) status = api.dnnl_matmul_desc_init(&matmul, &src, &weights, NULL, &dst);
    if (status == dnnl_success) status = api.dnnl_primitive_desc_create(descriptor, &matmul, attributes, api.engine, NULL);
#endif
    if (post_ops) api.dnnl_post_ops_destroy(post_ops);
    if (attributes) api.dnnl_primitive_attr_destroy(attributes);
    return status;
}

// The cached entry for `key`, made on first use; NULL with *status set when oneDNN has no kernel.
static cache_entry *entry_for(const shape_key *key, dnnl_status_t *status) {
    pthread_mutex_lock(&cache_lock);
    for (int index = 0; index < cache_count; index++) {
        if (same_shape(&cache[index].key, key)) {
            pthread_mutex_unlock(&cache_lock);
            return &cache[index];
        }
    }
    cache_entry *entry = NULL;
    if (cache_count < cache_capacity) {
        entry = &cache[cache_count];
        entry->key = *key;
        *status = make_descriptors(key, &entry->descriptor);
        if (*status == dnnl_success) *status = api.dnnl_primitive_create(&entry->primitive, entry->descriptor);
        if (*status == dnnl_success) cache_count++;
        else entry = NULL;
    } else {
        *status = dnnl_out_of_memory;  // more than cache_capacity distinct shapes: refused, not evicted
    }
    pthread_mutex_unlock(&cache_lock);
    return entry;
}

int pv_onednn_gemm_bf16(int threads, int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k,
                        const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb,
                        float beta, float *c, int64_t ldc) {
    if (!pv_onednn_load()) return dnnl_runtime_error;
    shape_key key = {transpose_a != 0, transpose_b != 0, m, n, k, lda, ldb, ldc, beta};
    dnnl_status_t status = dnnl_success;
    cache_entry *entry = entry_for(&key, &status);
    if (!entry) return status;
    if (!thread_stream) {
        status = api.dnnl_stream_create(&thread_stream, api.engine, dnnl_stream_default_flags);
        if (status != dnnl_success) return status;
    }
    use_threads(threads);
    size_t scratchpad_bytes = api.dnnl_memory_desc_get_size(
        api.dnnl_primitive_desc_query_md(entry->descriptor, dnnl_query_scratchpad_md, 0));
    void *scratchpad = pv_thread_scratch(onednn_scratchpad_slot, (int64_t)(scratchpad_bytes > 64 ? scratchpad_bytes : 64));
    if (!scratchpad) return dnnl_out_of_memory;
    dnnl_memory_t memory[4] = {NULL, NULL, NULL, NULL};
    const dnnl_query_t queries[4] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md, dnnl_query_scratchpad_md};
    void *handles[4] = {(void *)a, (void *)b, c, scratchpad};
    for (int index = 0; index < 4 && status == dnnl_success; index++)
        status = api.dnnl_memory_create(&memory[index], api.dnnl_primitive_desc_query_md(entry->descriptor, queries[index], 0),
                                        api.engine, handles[index]);
    if (status == dnnl_success) {
        dnnl_exec_arg_t arguments[4] = {{DNNL_ARG_SRC, memory[0]}, {DNNL_ARG_WEIGHTS, memory[1]}, {DNNL_ARG_DST, memory[2]},
                                        {DNNL_ARG_SCRATCHPAD, memory[3]}};
        status = api.dnnl_primitive_execute(entry->primitive, thread_stream, 4, arguments);
        if (status == dnnl_success) status = api.dnnl_stream_wait(thread_stream);
    }
    for (int index = 0; index < 4; index++)
        if (memory[index]) api.dnnl_memory_destroy(memory[index]);
    return status;
}

const char *pv_onednn_bf16_implementation(int64_t m, int64_t n, int64_t k) {
    if (!pv_onednn_load()) return NULL;
    shape_key key = {0, 0, m, n, k, k, n, n, 0};
    dnnl_status_t status = dnnl_success;
    cache_entry *entry = entry_for(&key, &status);
    if (!entry) return NULL;
    const char *name = NULL;
    if (api.dnnl_primitive_desc_query(entry->descriptor, dnnl_query_impl_info_str, 0, &name) != dnnl_success) return NULL;
    return name;
}

#else  // no oneDNN headers at build time

int pv_onednn_load(void) { return 0; }
const char *pv_onednn_status(void) { return "Parseval was built without oneDNN's headers (install libdnnl-dev and rebuild)"; }
const char *pv_onednn_version(void) { return ""; }
const char *pv_onednn_isa(void) { return ""; }
int pv_onednn_has_bf16_instructions(void) { return 0; }
int pv_onednn_sgemm(int threads, int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k,
                    float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                    float beta, float *c, int64_t ldc) { return -1; }
int pv_onednn_gemm_bf16(int threads, int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k,
                        const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb,
                        float beta, float *c, int64_t ldc) { return -1; }
const char *pv_onednn_bf16_implementation(int64_t m, int64_t n, int64_t k) { return NULL; }

#endif
