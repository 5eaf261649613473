// Runs the C replay of replay_darwin.go (its cgo preamble, included as
// preamble.h) on Linux against fake Objective-C objects whose methods
// print what a Recorder prints, so that a Go test can compare the two.
//
// usage: harness DIR [fail=I] [nocb=I] [noenc=I] [bench=N]
// DIR holds entries.bin (FlatEntry values), params.bin, spans.txt (start
// end per line), pipelines.txt and buffers.txt (a name per line). fail
// makes command buffer I report an error, nocb makes the queue return nil
// for it, noenc makes it return a nil encoder.
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "preamble.h"

// The real objc_msgSend looks up the method's IMP and jumps to it with the
// arguments untouched; here a selector points at its IMP, so each fake
// method receives its arguments as its own signature says.
#if defined(__x86_64__)
__asm__(".text\n.globl objc_msgSend\nobjc_msgSend:\n\tjmp *(%rsi)\n");
#elif defined(__aarch64__)
__asm__(".text\n.globl objc_msgSend\nobjc_msgSend:\n\tldr x16, [x1]\n\tbr x16\n");
#else
#error "the harness's objc_msgSend is written for x86-64 and arm64"
#endif

struct objc_selector {
	void *imp;
};

// obj is every fake object: its index in its table.
struct obj {
	int index;
};

static char names[2][512][64]; // pipelines, buffers
static struct obj pipelines[512], buffers[512], cbs[64], queue, encoder, blit;
static int made, fail_cb = -1, nil_cb = -1, nil_enc = -1, pools;

// quiet (bench=N) silences the fake methods: the harness then times N
// replays of every span, the C replay's own cost with methods that do
// nothing, not Metal's.
static int quiet;
#define say(...) (quiet ? 0 : printf(__VA_ARGS__))

void *objc_autoreleasePoolPush(void) { return (void *)(long)++pools; }

void objc_autoreleasePoolPop(void *pool) {
	if ((long)pool != pools--) {
		printf("pools popped out of order\n");
	}
}

static int idx(id o) { return ((struct obj *)o)->index; }

static id command_buffer(id q, SEL s) {
	int i = made++;
	if (q != (id)&queue || i == nil_cb) {
		return 0;
	}
	cbs[i].index = i;
	return (id)&cbs[i];
}

static id compute_encoder(id cb, SEL s, mg_uint type) {
	if (idx(cb) == nil_enc) {
		return 0;
	}
	say("begin cb=%d\n", idx(cb));
	if (type != 1) {
		say("dispatch type %lu, not concurrent\n", type);
	}
	return (id)&encoder;
}

static void set_pipeline(id e, SEL s, id p) { say("pipeline %s\n", names[0][idx(p)]); }

static void set_buffer(id e, SEL s, id b, mg_uint offset, mg_uint index) {
	say("buffer %lu %s+%lu\n", index, names[1][idx(b)], offset);
}

static void set_bytes(id e, SEL s, const void *p, mg_uint n, mg_uint index) {
	say("bytes %lu", index);
	for (mg_uint i = 0; i + 4 <= n; i += 4) {
		uint32_t w;
		memcpy(&w, (const char *)p + i, 4);
		say(" %08x", w);
	}
	say("\n");
}

static void set_threadgroup_memory(id e, SEL s, mg_uint n, mg_uint index) { say("tgmem %lu %lu\n", index, n); }

static void barrier(id e, SEL s, mg_uint scope) {
	if (scope == 1) {
		say("barrier\n");
	} else {
		say("barrier of scope %lu\n", scope);
	}
}

static void dispatch(id e, SEL s, mg_size g, mg_size t) {
	say("dispatch [%lu %lu %lu] x [%lu %lu %lu]\n", g.width, g.height, g.depth, t.width, t.height, t.depth);
}

static void end_encoding(id e, SEL s) { say(e == (id)&blit ? "end blit\n" : "end\n"); }

static void commit(id cb, SEL s) { say("commit cb=%d\n", idx(cb)); }

static void wait_until_completed(id cb, SEL s) { say("wait cb=%d\n", idx(cb)); }

static long status(id cb, SEL s) { return idx(cb) == fail_cb ? 5 : 4; } // error, completed

static id blit_encoder(id cb, SEL s) { return (id)&blit; }

static void fill(id e, SEL s, id b, mg_range r, uint8_t v) {
	say("fill %s [%lu, +%lu) with %u\n", names[1][idx(b)], r.location, r.length, v);
}

static struct objc_selector sels[MG_SEL_COUNT] = {
	[MG_SEL_COMMAND_BUFFER] = {(void *)command_buffer},
	[MG_SEL_COMPUTE_ENCODER] = {(void *)compute_encoder},
	[MG_SEL_SET_PIPELINE] = {(void *)set_pipeline},
	[MG_SEL_SET_BUFFER] = {(void *)set_buffer},
	[MG_SEL_SET_BYTES] = {(void *)set_bytes},
	[MG_SEL_SET_THREADGROUP_MEMORY] = {(void *)set_threadgroup_memory},
	[MG_SEL_BARRIER] = {(void *)barrier},
	[MG_SEL_DISPATCH] = {(void *)dispatch},
	[MG_SEL_END_ENCODING] = {(void *)end_encoding},
	[MG_SEL_COMMIT] = {(void *)commit},
	[MG_SEL_WAIT] = {(void *)wait_until_completed},
	[MG_SEL_STATUS] = {(void *)status},
	[MG_SEL_BLIT_ENCODER] = {(void *)blit_encoder},
	[MG_SEL_FILL] = {(void *)fill},
};

static void *slurp(const char *dir, const char *name, long *n) {
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	*n = ftell(f);
	rewind(f);
	char *b = malloc(*n + 1);
	if (fread(b, 1, *n, f) != (size_t)*n) {
		perror(path);
		exit(2);
	}
	b[*n] = 0;
	fclose(f);
	return b;
}

static int read_names(const char *dir, const char *file, char (*out)[64], void **objs, struct obj *table) {
	long n;
	char *text = slurp(dir, file, &n);
	int count = 0;
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		snprintf(out[count], 64, "%s", line);
		table[count].index = count;
		objs[count] = &table[count];
		count++;
	}
	return count;
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: harness DIR [fail=I] [nocb=I] [noenc=I] [bench=N]\n");
		return 2;
	}
	int bench = 0;
	for (int i = 2; i < argc; i++) {
		sscanf(argv[i], "bench=%d", &bench);
		sscanf(argv[i], "fail=%d", &fail_cb);
		sscanf(argv[i], "nocb=%d", &nil_cb);
		sscanf(argv[i], "noenc=%d", &nil_enc);
	}
	const char *dir = argv[1];
	for (int i = 0; i < MG_SEL_COUNT; i++) {
		mg_set_selector(i, &sels[i]);
	}
	static void *pipeline_objs[512], *buffer_objs[512], *committed[64];
	read_names(dir, "pipelines.txt", names[0], pipeline_objs, pipelines);
	read_names(dir, "buffers.txt", names[1], buffer_objs, buffers);
	long n;
	const mg_entry *entries = slurp(dir, "entries.bin", &n);
	const uint8_t *params = slurp(dir, "params.bin", &n);
	char *spans = slurp(dir, "spans.txt", &n);

	int span[64][2], spans_n = 0, used;
	for (char *p = spans; spans_n < 64 && sscanf(p, "%d %d\n%n", &span[spans_n][0], &span[spans_n][1], &used) == 2; p += used) {
		spans_n++;
	}
	quiet = bench > 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int rep = 0; rep < (bench > 0 ? bench : 1); rep++) {
		// As replayer.run: encode and commit each span, then wait for those
		// committed.
		made = 0;
		void *pool = mg_pool_push();
		int count = 0;
		for (; count < spans_n; count++) {
			int s = span[count][0], rc;
			rc = mg_encode(&queue, entries + s, span[count][1] - s, pipeline_objs, buffer_objs, params, &committed[count]);
			if (rc != MG_OK) {
				say("encode %d: %d\n", count, rc);
				break;
			}
		}
		say("failed %d\n", mg_wait(committed, count));
		mg_pool_pop(pool);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (bench > 0) {
		double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
		printf("%.0f ns/step\n", ns / bench);
		return 0;
	}
	// As ResetKV: zero buffer 0.
	printf("zero %d\n", mg_zero(&queue, buffer_objs[0], 4096));
	printf("pools %d\n", pools);
	return 0;
}
