/* WKB in C, for imports: a proof of polygon validity, and MultiPolygon EWKB for COPY.
 *
 * prove: which WKB polygons are valid, for the rows where a cheap proof exists.
 *
 * GEOS's IsValidOp builds a noder and an index for every polygon: ~8 us for a 36-vertex
 * ANM-style title, most of an import's CPU. A sweep over one polygon's segments proves, in a
 * fraction of that, what holds for nearly every published polygon:
 * - rings closed, finite, at least 4 points, no repeated point;
 * - segments meet only as neighbours of one ring (without folding back) or at a vertex shared
 *   exactly by two rings of which neither crosses the other there (no ring touches itself);
 * - inside a part, the rings touching each other form no cycle (the interior is connected);
 * - every hole inside its shell and outside its siblings; every part outside the others or
 *   inside one of their holes.
 * Orientation signs come from Shewchuk's filtered predicate. Any sign the filter cannot
 * certify, any other contact, three rings at one point, big-endian or Z/M WKB, more pairs of
 * overlapping segments than a budget linear in their number: "not proven" (0), and the
 * caller asks GEOS. So the proof may decline a valid polygon but never accepts
 * an invalid one (tests/test_polygon_proof.py checks it against GEOS).
 *
 * prove(offsets, offset_width, data, first, count, status, areas, bounds) fills, per row,
 * status (3 Polygon, 6 MultiPolygon, 0 not proven), the area as GEOS computes it, and the
 * envelope (minx, miny, maxx, maxy). The GIL is released while it runs.
 *
 * multipolygon_ewkb: 2D little-endian (Multi)Polygon WKB rewritten as MultiPolygon EWKB with
 * an SRID, in one pass (see the function).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTS 4096
#define MAX_RINGS 4096

typedef struct {
    uint32_t start; /* first point */
    uint32_t len;   /* points, the closing one included */
    uint32_t part;  /* the first ring of a part is its shell */
    uint32_t set;   /* union-find over touching rings of one part */
    double box[4];  /* minx, miny, maxx, maxy */
} Ring;

typedef struct {
    double min_x;   /* least coordinate along the sweep axis (x, or y for tall shapes) */
    uint32_t point; /* index of its first point */
    uint32_t ring;
} Segment;

typedef struct {
    uint32_t a, b; /* the shared vertex, as a point index in each ring (a's ring < b's) */
} Touch;

typedef struct {
    double *xy; /* all points of the geometry, x0 y0 x1 y1 ... (aligned copy of the WKB) */
    size_t xy_cap, points;
    uint32_t *owner; /* ring of each point */
    size_t owner_cap;
    uint8_t *touching; /* point is a vertex shared with another ring */
    size_t touching_cap;
    Ring *ring;
    size_t ring_cap, rings;
    Segment *seg; /* sorted by min x for the sweep */
    size_t seg_cap;
    Touch *touch;
    size_t touch_cap, touches;
    size_t *shell; /* first ring of each part, then `rings` */
    size_t shell_cap;
    double box[4]; /* the geometry's envelope */
} Scratch;

static int grow(void **array, size_t *cap, size_t need, size_t item, int *ok) {
    if (need <= *cap) return 1;
    size_t size = *cap ? *cap : 64;
    while (size < need) size *= 2;
    void *bigger = realloc(*array, size * item);
    if (!bigger) {
        *ok = 0;
        return 0;
    }
    *array = bigger;
    *cap = size;
    return 1;
}

/* Shewchuk's orient2d with only its first, filtered stage: +1 (c left of a->b) or -1 when
 * the sign is certain, 0 when exactly collinear, 2 when the filter cannot tell. */
static const double ERRBOUND = 3.3306690738754716e-16; /* (3 + 16 eps) eps, eps = 2^-53 */

static inline int orient(const double *a, const double *b, const double *c) {
    double left = (a[0] - c[0]) * (b[1] - c[1]);
    double right = (a[1] - c[1]) * (b[0] - c[0]);
    double det = left - right, sum;
    if (left > 0.0) {
        if (right <= 0.0) return (det > 0.0) - (det < 0.0);
        sum = left + right;
    } else if (left < 0.0) {
        if (right >= 0.0) return (det > 0.0) - (det < 0.0);
        sum = -left - right;
    } else {
        return (det > 0.0) - (det < 0.0);
    }
    double bound = ERRBOUND * sum;
    if (det > 0.0 && det >= bound) return 1;
    if (det < 0.0 && -det >= bound) return -1;
    return 2;
}

static inline int certain(int o) { return o == 1 || o == -1; }

/* Sign of (p - q) . (r - q), or 0 when too close to call. */
static int dot_sign(const double *q, const double *p, const double *r) {
    double ux = p[0] - q[0], uy = p[1] - q[1], vx = r[0] - q[0], vy = r[1] - q[1];
    double dot = ux * vx + uy * vy, margin = 1e-12 * (fabs(ux * vx) + fabs(uy * vy));
    return dot > margin ? 1 : (dot < -margin ? -1 : 0);
}

static inline int same(const double *p, const double *q) { return p[0] == q[0] && p[1] == q[1]; }

static inline uint32_t read_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Start and end of row `row` in an Arrow binary array's data (offsets of `width` bytes). */
static inline void row_span(const Py_buffer *offsets, int width, Py_ssize_t row, int64_t *lo,
                            int64_t *hi) {
    if (width == 4) {
        *lo = ((const int32_t *)offsets->buf)[row];
        *hi = ((const int32_t *)offsets->buf)[row + 1];
    } else {
        *lo = ((const int64_t *)offsets->buf)[row];
        *hi = ((const int64_t *)offsets->buf)[row + 1];
    }
}

static void envelope(const double *xy, size_t n, double *box) {
    box[0] = box[2] = xy[0];
    box[1] = box[3] = xy[1];
    for (size_t i = 1; i < n; i++) {
        double x = xy[2 * i], y = xy[2 * i + 1];
        if (x < box[0]) box[0] = x;
        if (x > box[2]) box[2] = x;
        if (y < box[1]) box[1] = y;
        if (y > box[3]) box[3] = y;
    }
}

/* Read one Polygon body (after its 5-byte header) into the scratch; 0 when malformed. */
static int read_polygon(const uint8_t **cursor, const uint8_t *end, uint32_t part, Scratch *s,
                        int *ok) {
    const uint8_t *p = *cursor;
    if (end - p < 4) return 0;
    uint32_t rings = read_u32(p);
    p += 4;
    if (rings == 0 || s->rings + rings > MAX_RINGS) return 0;
    for (uint32_t r = 0; r < rings; r++) {
        if (end - p < 4) return 0;
        uint32_t n = read_u32(p);
        p += 4;
        if (n < 4 || (size_t)(end - p) / 16 < n) return 0;
        if (!grow((void **)&s->xy, &s->xy_cap, s->points + n, 2 * sizeof(double), ok)) return 0;
        if (!grow((void **)&s->ring, &s->ring_cap, s->rings + 1, sizeof(Ring), ok)) return 0;
        memcpy(s->xy + 2 * s->points, p, (size_t)n * 16);
        p += (size_t)n * 16;
        Ring *ring = &s->ring[s->rings];
        ring->start = (uint32_t)s->points;
        ring->len = n;
        ring->part = part;
        ring->set = (uint32_t)s->rings;
        s->rings++;
        s->points += n;
    }
    *cursor = p;
    return 1;
}

/* Parse a 2D little-endian Polygon or MultiPolygon; returns its type (3, 6) or 0. */
static int parse(const uint8_t *p, const uint8_t *end, Scratch *s, uint32_t *parts, int *ok) {
    s->points = 0;
    s->rings = 0;
    s->touches = 0;
    if (end - p < 9 || p[0] != 1) return 0;
    uint32_t type = read_u32(p + 1);
    p += 5;
    if (type == 3) {
        *parts = 1;
        if (!read_polygon(&p, end, 0, s, ok)) return 0;
    } else if (type == 6) {
        uint32_t count = read_u32(p);
        p += 4;
        if (count == 0 || count > MAX_PARTS) return 0;
        for (uint32_t i = 0; i < count; i++) {
            if (end - p < 5 || p[0] != 1 || read_u32(p + 1) != 3) return 0;
            p += 5;
            if (!read_polygon(&p, end, i, s, ok)) return 0;
        }
        *parts = count;
    } else {
        return 0;
    }
    return p == end ? (int)type : 0;
}

/* Finite values only (checked before): no NaN handling needed, unlike fmin/fmax. */
static inline double lesser(double a, double b) { return a < b ? a : b; }
static inline double greater(double a, double b) { return a > b ? a : b; }

/* Quicksort by min_x, insertion sort below 24 segments (the usual few dozen cost little). */
static void sort_segments(Segment *seg, size_t n) {
    while (n > 24) {
        double a = seg[0].min_x, b = seg[n / 2].min_x, c = seg[n - 1].min_x;
        double pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = 0, j = n - 1;
        for (;;) {
            while (seg[i].min_x < pivot) i++;
            while (seg[j].min_x > pivot) j--;
            if (i >= j) break;
            Segment t = seg[i];
            seg[i++] = seg[j];
            seg[j--] = t;
        }
        /* recurse into the smaller side, loop on the larger */
        if (j + 1 < n - j - 1) {
            sort_segments(seg, j + 1);
            seg += j + 1;
            n -= j + 1;
        } else {
            sort_segments(seg + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        Segment item = seg[i];
        size_t j = i;
        while (j > 0 && seg[j - 1].min_x > item.min_x) {
            seg[j] = seg[j - 1];
            j--;
        }
        seg[j] = item;
    }
}

/* Segments p->q and q->r of one ring meet only at q unless they fold back. */
static int neighbours_ok(const double *p, const double *q, const double *r) {
    return certain(orient(p, q, r)) || dot_sign(q, p, r) < 0;
}

/* Segments a-b and c-d certainly have no point in common. */
static int disjoint(const double *a, const double *b, const double *c, const double *d) {
    int o1 = orient(a, b, c), o2 = orient(a, b, d);
    if (certain(o1) && o1 == o2) return 1;
    int o3 = orient(c, d, a), o4 = orient(c, d, b);
    return certain(o3) && o3 == o4;
}

/* Segments i and j (points i, i+1 and j, j+1) of two rings share exactly one end point and
 * nothing else: record the shared vertex. */
static int touch(Scratch *s, uint32_t i, uint32_t j, int *ok) {
    const double *xy = s->xy;
    uint32_t ti, tj, oi, oj; /* shared and other end of each */
    if (same(xy + 2 * i, xy + 2 * j)) ti = i, tj = j, oi = i + 1, oj = j + 1;
    else if (same(xy + 2 * i, xy + 2 * j + 2)) ti = i, tj = j + 1, oi = i + 1, oj = j;
    else if (same(xy + 2 * i + 2, xy + 2 * j)) ti = i + 1, tj = j, oi = i, oj = j + 1;
    else if (same(xy + 2 * i + 2, xy + 2 * j + 2)) ti = i + 1, tj = j + 1, oi = i, oj = j;
    else return 0;
    const double *q = xy + 2 * ti, *p = xy + 2 * oi, *r = xy + 2 * oj;
    if (same(p, r)) return 0; /* the same segment twice */
    if (!certain(orient(q, p, r)) && dot_sign(q, p, r) >= 0) return 0; /* overlap */
    if (!grow((void **)&s->touch, &s->touch_cap, s->touches + 1, sizeof(Touch), ok)) return 0;
    /* the closing point stands for the ring's first */
    uint32_t ri = s->owner[ti], rj = s->owner[tj];
    if (ti == s->ring[ri].start + s->ring[ri].len - 1) ti = s->ring[ri].start;
    if (tj == s->ring[rj].start + s->ring[rj].len - 1) tj = s->ring[rj].start;
    s->touch[s->touches++] = ri < rj ? (Touch){ti, tj} : (Touch){tj, ti};
    s->touching[ti] = s->touching[tj] = 1;
    return 1;
}

/* Rings closed, finite, no repeated point; then every pair of segments either neighbours of
 * one ring that do not fold back, disjoint, or touching at one shared vertex (recorded). */
static int segments_ok(Scratch *s, int *ok) {
    size_t total = 0;
    for (size_t r = 0; r < s->rings; r++) total += s->ring[r].len - 1;
    if (!grow((void **)&s->seg, &s->seg_cap, total, sizeof(Segment), ok)) return 0;
    if (!grow((void **)&s->owner, &s->owner_cap, s->points, sizeof(uint32_t), ok)) return 0;
    if (!grow((void **)&s->touching, &s->touching_cap, s->points, 1, ok)) return 0;
    memset(s->touching, 0, s->points);
    /* Sweep along the geometry's longer side: fewer segments overlap there. */
    double *box = s->box;
    for (size_t r = 0; r < s->rings; r++) {
        Ring *ring = &s->ring[r];
        envelope(s->xy + 2 * ring->start, ring->len, ring->box);
        for (int c = 0; c < 4; c++) {
            if (r == 0 || (c < 2 ? ring->box[c] < box[c] : ring->box[c] > box[c]))
                box[c] = ring->box[c];
        }
    }
    int along = box[3] - box[1] > box[2] - box[0], across = !along;
    size_t k = 0;
    for (size_t r = 0; r < s->rings; r++) {
        Ring *ring = &s->ring[r];
        const double *first = s->xy + 2 * ring->start;
        if (!same(first, first + 2 * (ring->len - 1))) return 0;
        for (uint32_t i = 0; i < ring->len; i++) s->owner[ring->start + i] = (uint32_t)r;
        for (uint32_t i = 0; i + 1 < ring->len; i++) {
            const double *a = first + 2 * i;
            if (!isfinite(a[0]) || !isfinite(a[1]) || same(a, a + 2)) return 0;
            s->seg[k++] = (Segment){lesser(a[along], a[2 + along]), ring->start + i, (uint32_t)r};
        }
    }
    sort_segments(s->seg, total);
    /* Pairs overlapping along the sweep are checked; past a budget linear in the segments
     * (a shape whose segments all overlap) GEOS's indexed check is the better tool. */
    size_t budget = 64 * total + 4096;
    const double *xy = s->xy;
    for (size_t i = 0; i < total; i++) {
        uint32_t si = s->seg[i].point;
        const double *a = xy + 2 * si, *b = a + 2;
        double end = greater(a[along], b[along]);
        double low = lesser(a[across], b[across]), high = greater(a[across], b[across]);
        for (size_t j = i + 1; j < total && s->seg[j].min_x <= end; j++) {
            if (--budget == 0) return 0;
            uint32_t sj = s->seg[j].point;
            const double *c = xy + 2 * sj, *d = c + 2;
            if (lesser(c[across], d[across]) > high || greater(c[across], d[across]) < low)
                continue;
            if (s->seg[i].ring == s->seg[j].ring) {
                const Ring *ring = &s->ring[s->seg[i].ring];
                uint32_t lo = si < sj ? si : sj, hi = si < sj ? sj : si;
                if (hi == lo + 1) {
                    if (!neighbours_ok(xy + 2 * lo, xy + 2 * hi, xy + 2 * hi + 2)) return 0;
                    continue;
                }
                if (lo == ring->start && hi == ring->start + ring->len - 2) { /* last, first */
                    if (!neighbours_ok(xy + 2 * hi, xy + 2 * lo, xy + 2 * lo + 2)) return 0;
                    continue;
                }
                if (!disjoint(a, b, c, d)) return 0; /* a ring may not touch itself */
                continue;
            }
            if (!disjoint(a, b, c, d) && !touch(s, si, sj, ok)) return 0;
        }
    }
    return 1;
}

/* The vertex before and after point i of its ring. */
static void around(const Scratch *s, uint32_t i, const double **before, const double **after) {
    const Ring *ring = &s->ring[s->owner[i]];
    uint32_t first = ring->start, last = ring->start + ring->len - 1;
    *before = s->xy + 2 * (i == first ? last - 1 : i - 1);
    *after = s->xy + 2 * (i + 1);
}

/* Side of w in the wedge swept counter-clockwise from ray q->u to ray q->v: 1 inside, 0
 * outside, -1 uncertain. Three-valued: an uncertain sign matters only when the other one
 * does not settle the answer (w nearly opposite u, say, is settled by v). */
static int in_wedge(const double *q, const double *u, const double *v, const double *w) {
    int uw = orient(q, u, w), wv = orient(q, w, v);
    int after_u = uw == 2 ? -1 : uw == 1, before_v = wv == 2 ? -1 : wv == 1;
    if (after_u == before_v && after_u >= 0) return after_u;
    int uv = orient(q, u, v);
    if (uv == 1) return (after_u == 0 || before_v == 0) ? 0 : -1;  /* convex: both */
    if (uv == -1) return (after_u == 1 || before_v == 1) ? 1 : -1; /* reflex: either */
    if (uv == 0 && dot_sign(q, u, v) < 0) return after_u;          /* straight: half-plane */
    return -1;
}

static uint32_t find(Ring *ring, uint32_t r) {
    while (ring[r].set != r) r = ring[r].set = ring[ring[r].set].set;
    return r;
}

/* At each shared vertex: exactly two rings, neither crossing the other; rings of one part
 * touching in a cycle would cut its interior. */
static int touches_ok(Scratch *s) {
    for (size_t t = 0; t < s->touches; t++) {
        Touch *touch = &s->touch[t];
        const double *q = s->xy + 2 * touch->a;
        int duplicate = 0;
        for (size_t u = 0; u < t && !duplicate; u++) {
            Touch *other = &s->touch[u];
            if (other->a == touch->a && other->b == touch->b) duplicate = 1;
            else if (same(s->xy + 2 * other->a, q)) return 0; /* a third ring at q */
        }
        if (duplicate) continue;
        const double *a0, *a1, *b0, *b1;
        around(s, touch->a, &a0, &a1);
        around(s, touch->b, &b0, &b1);
        int w0 = in_wedge(q, a0, a1, b0), w1 = in_wedge(q, a0, a1, b1);
        if (w0 < 0 || w0 != w1) return 0; /* crossing, or uncertain */
        uint32_t ra = s->owner[touch->a], rb = s->owner[touch->b];
        if (s->ring[ra].part != s->ring[rb].part) continue;
        uint32_t sa = find(s->ring, ra), sb = find(s->ring, rb);
        if (sa == sb) return 0; /* a cycle: disconnected interior */
        s->ring[sa].set = sb;
    }
    return 1;
}

/* Point strictly inside (1), strictly outside (0) a ring, or uncertain (-1). */
static int inside(const double *pt, const Scratch *s, size_t r) {
    const Ring *ring = &s->ring[r];
    if (pt[0] < ring->box[0] || pt[0] > ring->box[2] || pt[1] < ring->box[1] ||
        pt[1] > ring->box[3])
        return 0;
    const double *xy = s->xy + 2 * ring->start;
    int crossings = 0;
    for (uint32_t i = 0; i + 1 < ring->len; i++) {
        const double *a = xy + 2 * i, *b = a + 2;
        if ((a[1] > pt[1]) == (b[1] > pt[1])) continue;
        int o = orient(a, b, pt);
        if (!certain(o)) return -1;
        /* an upward edge with the point on its left, or a downward one with it on its right */
        if ((b[1] > a[1]) == (o == 1)) crossings++;
    }
    return crossings & 1;
}

/* A vertex of ring r shared with no other ring (rings disjoint elsewhere, it tells on which
 * side of any other ring the whole ring lies), or NULL. */
static const double *free_vertex(const Scratch *s, size_t r) {
    const Ring *ring = &s->ring[r];
    for (uint32_t i = 0; i + 1 < ring->len; i++) {
        if (!s->touching[ring->start + i]) return s->xy + 2 * (ring->start + i);
    }
    return NULL;
}

/* Holes inside their shell and outside their siblings; every part outside each other part or
 * inside one of its holes. */
static int nesting_ok(Scratch *s, uint32_t parts, int *ok) {
    if (!grow((void **)&s->shell, &s->shell_cap, parts + 1, sizeof(size_t), ok)) return 0;
    size_t k = 0;
    for (size_t r = 0; r < s->rings; r++) {
        if (r == 0 || s->ring[r].part != s->ring[r - 1].part) s->shell[k++] = r;
    }
    if (k != parts) return 0;
    s->shell[k] = s->rings;
    for (uint32_t part = 0; part < parts; part++) {
        size_t shell = s->shell[part], end = s->shell[part + 1];
        for (size_t h = shell + 1; h < end; h++) {
            const double *pt = free_vertex(s, h);
            if (!pt || inside(pt, s, shell) != 1) return 0;
            for (size_t g = shell + 1; g < end; g++) {
                if (g != h && inside(pt, s, g) != 0) return 0;
            }
        }
    }
    for (uint32_t p = 0; p < parts && parts > 1; p++) {
        const double *pt = free_vertex(s, s->shell[p]);
        if (!pt) return 0;
        for (uint32_t q = 0; q < parts; q++) {
            if (q == p) continue;
            int in = inside(pt, s, s->shell[q]);
            if (in == 0) continue;
            if (in < 0) return 0;
            /* inside q's shell: valid only inside one of q's holes */
            int in_hole = 0;
            for (size_t h = s->shell[q] + 1; h < s->shell[q + 1] && !in_hole; h++) {
                in_hole = inside(pt, s, h);
                if (in_hole < 0) return 0;
            }
            if (!in_hole) return 0;
        }
    }
    return 1;
}

/* GEOS's Area::ofRingSigned, to give the same figure. */
static double ring_area(const double *xy, uint32_t n) {
    double sum = 0.0, x0 = xy[0];
    for (uint32_t i = 1; i + 1 < n; i++) {
        double x = xy[2 * i] - x0;
        sum += x * (xy[2 * (i - 1) + 1] - xy[2 * (i + 1) + 1]);
    }
    return sum / 2.0;
}

static double area(const Scratch *s) {
    double total = 0.0;
    for (size_t r = 0; r < s->rings; r++) {
        double a = fabs(ring_area(s->xy + 2 * s->ring[r].start, s->ring[r].len));
        int shell = r == 0 || s->ring[r].part != s->ring[r - 1].part;
        total += shell ? a : -a;
    }
    return total;
}

static void release(Scratch *s) {
    free(s->xy);
    free(s->owner);
    free(s->touching);
    free(s->ring);
    free(s->seg);
    free(s->touch);
    free(s->shell);
}

static PyObject *prove(PyObject *self, PyObject *args) {
    Py_buffer offsets, data, status, areas, bounds;
    int width;
    Py_ssize_t first, count;
    if (!PyArg_ParseTuple(args, "y*iy*nnw*w*w*", &offsets, &width, &data, &first, &count,
                          &status, &areas, &bounds))
        return NULL;
    PyObject *result = NULL;
    if ((width != 4 && width != 8) || first < 0 || count < 0 ||
        offsets.len < (first + count + 1) * width || status.len < count ||
        areas.len < count * (Py_ssize_t)sizeof(double) ||
        bounds.len < count * 4 * (Py_ssize_t)sizeof(double)) {
        PyErr_SetString(PyExc_ValueError, "prove: buffers too small for the rows asked");
        goto done;
    }
    Scratch s;
    memset(&s, 0, sizeof s);
    int ok = 1;
    const uint8_t *base = data.buf;
    int8_t *out = status.buf;
    double *out_area = areas.buf, *out_box = bounds.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count && ok; i++) {
        int64_t lo, hi;
        row_span(&offsets, width, first + i, &lo, &hi);
        out[i] = 0;
        out_area[i] = NAN;
        if (lo < 0 || hi < lo || hi > data.len) continue;
        uint32_t parts = 0;
        int type = parse(base + lo, base + hi, &s, &parts, &ok);
        if (!type || !segments_ok(&s, &ok) || !touches_ok(&s) || !nesting_ok(&s, parts, &ok))
            continue;
        out[i] = (int8_t)type;
        out_area[i] = area(&s);
        memcpy(out_box + 4 * i, s.box, sizeof s.box);
    }
    Py_END_ALLOW_THREADS
    release(&s);
    if (!ok) {
        PyErr_NoMemory();
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    PyBuffer_Release(&status);
    PyBuffer_Release(&areas);
    PyBuffer_Release(&bounds);
    return result;
}

/* multipolygon_ewkb(offsets, offset_width, data, first, count, srid, out_offsets) -> bytes:
 * 2D little-endian WKB Polygons and MultiPolygons rewritten as MultiPolygon EWKB carrying
 * `srid` (a Polygon becomes the only member of one), in one pass; `out_offsets` (int32,
 * count + 1) receives the Arrow offsets of the returned data. */
static PyObject *multipolygon_ewkb(PyObject *self, PyObject *args) {
    Py_buffer offsets, data, out_offsets;
    int width;
    Py_ssize_t first, count;
    unsigned int srid;
    if (!PyArg_ParseTuple(args, "y*iy*nnIw*", &offsets, &width, &data, &first, &count, &srid,
                          &out_offsets))
        return NULL;
    PyObject *result = NULL;
    if ((width != 4 && width != 8) || first < 0 || count < 0 ||
        offsets.len < (first + count + 1) * width ||
        out_offsets.len < (count + 1) * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_SetString(PyExc_ValueError, "multipolygon_ewkb: buffers too small");
        goto done;
    }
    const uint8_t *base = data.buf;
    int32_t *out_at = out_offsets.buf;
    int64_t total = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t lo, hi;
        row_span(&offsets, width, first + i, &lo, &hi);
        uint32_t type = hi - lo >= 9 && lo >= 0 && hi <= data.len ? read_u32(base + lo + 1) : 0;
        if ((type != 3 && type != 6) || base[lo] != 1) {
            PyErr_Format(PyExc_ValueError, "row %zd: not a 2D little-endian (Multi)Polygon", i);
            goto done;
        }
        out_at[i] = (int32_t)total;
        total += 9 + (type == 3 ? 4 + (hi - lo) : (hi - lo) - 5);
        if (total > INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "multipolygon_ewkb: batch over 2 GiB");
            goto done;
        }
    }
    out_at[count] = (int32_t)total;
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
    if (!result) goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    uint32_t multi = 6 | 0x20000000, one = 1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t lo, hi;
        row_span(&offsets, width, first + i, &lo, &hi);
        uint8_t *at = out + out_at[i];
        at[0] = 1;
        memcpy(at + 1, &multi, 4);
        memcpy(at + 5, &srid, 4);
        if (read_u32(base + lo + 1) == 3) {
            memcpy(at + 9, &one, 4);
            memcpy(at + 13, base + lo, (size_t)(hi - lo));
        } else {
            memcpy(at + 9, base + lo + 5, (size_t)(hi - lo - 5));
        }
    }
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    PyBuffer_Release(&out_offsets);
    return result;
}

static PyMethodDef methods[] = {
    {"prove", prove, METH_VARARGS,
     "prove(offsets, offset_width, data, first, count, status, areas, bounds): see module."},
    {"multipolygon_ewkb", multipolygon_ewkb, METH_VARARGS,
     "multipolygon_ewkb(offsets, offset_width, data, first, count, srid, out_offsets) -> bytes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_wkb",
    .m_doc = "Proof of validity for 2D little-endian WKB polygons (see geo/_wkb.c).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__wkb(void) { return PyModule_Create(&module); }
