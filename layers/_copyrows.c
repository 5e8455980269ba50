/* PostgreSQL binary COPY rows joined from column parts in one pass (layers/pgcopy.py).
 *
 * join(count, parts) -> bytes. Each part holds one piece of every row, in row order:
 *   (0, offsets, offset_width, data, first)  an Arrow binary array: row i is
 *                                             data[offsets[first + i] : offsets[first + i + 1]]
 *   (1, data, item_size)                      fixed-width records: row i is
 *                                             data[i * item_size : (i + 1) * item_size]
 * Row i of the result is part 0's piece, then part 1's, ... Arrow's element-wise join did the
 * same through a generic kernel at ~2 us per row of a 40-piece tenure; this is a memcpy each.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    int fixed;
    Py_buffer data, offsets;
    int width;
    Py_ssize_t first, item;
} Part;

static inline void span(const Part *p, Py_ssize_t row, int64_t *lo, int64_t *hi) {
    if (p->fixed) {
        *lo = row * p->item;
        *hi = *lo + p->item;
    } else if (p->width == 4) {
        *lo = ((const int32_t *)p->offsets.buf)[p->first + row];
        *hi = ((const int32_t *)p->offsets.buf)[p->first + row + 1];
    } else {
        *lo = ((const int64_t *)p->offsets.buf)[p->first + row];
        *hi = ((const int64_t *)p->offsets.buf)[p->first + row + 1];
    }
}

static void release(Part *parts, Py_ssize_t n) {
    for (Py_ssize_t k = 0; k < n; k++) {
        if (parts[k].data.obj) PyBuffer_Release(&parts[k].data);
        if (parts[k].offsets.obj) PyBuffer_Release(&parts[k].offsets);
    }
    PyMem_Free(parts);
}

static PyObject *join(PyObject *self, PyObject *args) {
    Py_ssize_t count;
    PyObject *list;
    if (!PyArg_ParseTuple(args, "nO!", &count, &PyList_Type, &list)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(list);
    Part *parts = PyMem_Calloc(n ? n : 1, sizeof(Part));
    if (!parts) return PyErr_NoMemory();
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *item = PyList_GET_ITEM(list, k);
        Part *p = &parts[k];
        int kind;
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) < 1 ||
            (kind = (int)PyLong_AsLong(PyTuple_GET_ITEM(item, 0))) < 0 || kind > 1) {
            PyErr_Format(PyExc_ValueError, "join: part %zd is not (0, ...) or (1, ...)", k);
            release(parts, n);
            return NULL;
        }
        p->fixed = kind;
        int parsed = kind ? PyArg_ParseTuple(item, "iy*n", &kind, &p->data, &p->item)
                          : PyArg_ParseTuple(item, "iy*iy*n", &kind, &p->offsets, &p->width,
                                             &p->data, &p->first);
        if (!parsed) {
            release(parts, n);
            return NULL;
        }
        int bad = kind ? (p->item < 0 || p->data.len < count * p->item)
                       : ((p->width != 4 && p->width != 8) || p->first < 0 ||
                          p->offsets.len < (p->first + count + 1) * p->width);
        if (bad) {
            PyErr_Format(PyExc_ValueError, "join: part %zd is shorter than %zd rows", k, count);
            release(parts, n);
            return NULL;
        }
    }
    int64_t total = 0;
    for (Py_ssize_t k = 0; k < n && count > 0; k++) {
        int64_t lo, hi, start;
        span(&parts[k], 0, &start, &hi);
        span(&parts[k], count - 1, &lo, &hi);
        if (start < 0 || hi < start || hi > parts[k].data.len) {
            PyErr_Format(PyExc_ValueError, "join: part %zd points outside its data", k);
            release(parts, n);
            return NULL;
        }
        total += hi - start;
    }
    PyObject *result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
    if (!result) {
        release(parts, n);
        return NULL;
    }
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) {
        for (Py_ssize_t k = 0; k < n; k++) {
            int64_t lo, hi;
            span(&parts[k], i, &lo, &hi);
            const uint8_t *from = (const uint8_t *)parts[k].data.buf + lo;
            /* Most pieces are 2-, 4-, 8- or 12-byte lengths and numbers: copies of a constant
             * size compile to a move or two, a call to memcpy each would cost more. */
            switch (hi - lo) {
            case 2: memcpy(out, from, 2); break;
            case 4: memcpy(out, from, 4); break;
            case 8: memcpy(out, from, 8); break;
            case 12: memcpy(out, from, 12); break;
            default: memcpy(out, from, (size_t)(hi - lo));
            }
            out += hi - lo;
        }
    }
    Py_END_ALLOW_THREADS
    release(parts, n);
    return result;
}

static PyMethodDef methods[] = {
    {"join", join, METH_VARARGS, "join(count, parts) -> bytes: see module."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_copyrows",
    .m_doc = "PostgreSQL binary COPY rows joined from column parts (see layers/_copyrows.c).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__copyrows(void) { return PyModule_Create(&module); }
