"""Fused CPU kernels for the GMM layer's elementwise work (dgmm/models/gmm_layer.py).

The layer's GEMMs run at the reference's speed; what made it slower than an equal-FLOP GEMM were
~16 eager passes over [S*g, d] parameter-sized tensors and ~7 over [B, S*g] per forward+backward,
each reading and writing memory. Here each group is one loop over the data:

  fill         means, log-variances -> 1/Sigma, mu/Sigma (centred) [K, d] and C, const [K]
  resp         log-likelihoods -> unnormalised responsibilities in place, per-state max and sum
  weight_resp  R = responsibilities x (G / sum) and n = sum_b R
  param_grads  GEMM outputs P1, P2 and n -> d/d mu, d/d Sigma' (Eq. (2)-(3), floor mask)

The C source below is compiled with the C compiler ($CC, else cc or gcc) at first use (about 1 s)
into $TORCH_EXTENSIONS_DIR (default ~/.cache/torch_extensions; where that cannot be written, a
private directory in the temporary directory), named after a hash of source, flags and compiler,
and loaded with ctypes: plain C on raw float32 pointers needs no torch headers, pybind11 or
ninja. Processes starting together each build in a private temporary directory and rename the
result into place (atomic; at worst the work is done twice), and a build removes the directories
that killed builds left (unchanged for an hour); a cached file that does not load (truncated,
corrupt) is rebuilt the same way, and a compiler without target_clones gets a baseline build.
The loops are single-threaded: recipes train with one torch thread per process; with more
threads the GEMMs parallelise but these passes do not (the 2-thread speed is unmeasured).
Without a compiler, or with DGMM_GMM_KERNELS=eager, ``load()`` returns None and the layer uses
its torch path.

Layouts (all float32, contiguous): a block of nb states has K = nb*g rows in component-major order,
row i*nb + s for component i of state s (the layer's _Workspace order); the parameters and their
gradients keep the [nb, g, d] layout of the [S, g, d] tensors, row s*g + i.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import time

from torch import Tensor

_SOURCE = r"""
#include <stdint.h>
#include <string.h>

#define LOG_2PI 1.8378770664093453f

/* exp(x) to ~1 ulp without a libm call, branch-free so that loops calling it vectorise (Cephes'
   expf: 2^n e^r with |r| <= ln2/2, Cody-Waite reduction, degree-6 polynomial; 2^n as two factors
   so that both stay normal). Below -87.3 it returns 0 (libm gives denormals down to -103.9),
   above 88.72 +inf; NaN stays NaN. */
static inline float exp_f(float x) {
    float xc = x > -87.3f ? x : -87.3f;  /* written so that NaN is clamped too: (int)NaN is undefined */
    xc = xc < 88.72f ? xc : 88.72f;
    int n = (int)(xc * 1.44269504088896341f + 128.5f) - 128;  /* round to nearest (the argument is > 0) */
    float fn = (float)n;
    float r = xc - fn * 0.693359375f;
    r = r - fn * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    int n1 = n >> 1;
    union { int32_t i; float f; } s1, s2;
    s1.i = (n1 + 127) << 23;
    s2.i = (n - n1 + 127) << 23;
    y = y * s1.f * s2.f;
    y = x < -87.3f ? 0.0f : y;
    y = x > 88.72f ? __builtin_inff() : y;
    return x != x ? x : y;
}

/* iv = 1/Sigma, m_iv = (mu - centre)/Sigma, Sigma' capped at -max_neg_lv from below (the floor; +inf:
   none). With konst != NULL also c_sq = sum (mu - centre)^2/Sigma and
   konst = log w - (d log 2pi + log|Sigma| + c_sq)/2; log_w: [nb, g]. */
void gmm_fill(const float *means, const float *log_vars, const float *log_w, const float *centre,
              float max_neg_lv, int64_t nb, int64_t g, int64_t d,
              float *iv, float *m_iv, float *konst, float *c_sq) {
    const float d_log_2pi = (float)d * LOG_2PI;
    for (int64_t s = 0; s < nb; s++)
        for (int64_t i = 0; i < g; i++) {
            const float *mu = means + (s * g + i) * d, *lv = log_vars + (s * g + i) * d;
            const int64_t k = i * nb + s;
            float *o_iv = iv + k * d, *o_miv = m_iv + k * d;
            float neg_logdet = 0.0f, c = 0.0f;
#pragma omp simd reduction(+:neg_logdet, c)
            for (int64_t j = 0; j < d; j++) {
                float nl = -lv[j];
                nl = nl > max_neg_lv ? max_neg_lv : nl;
                float e = exp_f(nl), q = mu[j] - centre[j], mi = q * e;
                o_iv[j] = e;
                o_miv[j] = mi;
                neg_logdet += nl;
                c += q * mi;
            }
            if (konst) {
                c_sq[k] = c;
                konst[k] = (neg_logdet - c - d_log_2pi) * 0.5f + log_w[s * g + i];
            }
        }
}

/* ll [B, g, nb] -> exp(max(ll - top, -floor_nats)) in place; top, tot [B, nb]: max over the g
   components and the sum of the results. */
void gmm_resp(float *ll, int64_t B, int64_t g, int64_t nb, float floor_nats, float *top, float *tot) {
    for (int64_t b = 0; b < B; b++) {
        float *row = ll + b * g * nb, *t = top + b * nb, *z = tot + b * nb;
        memcpy(t, row, nb * sizeof(float));
        for (int64_t i = 1; i < g; i++)
#pragma omp simd
            for (int64_t s = 0; s < nb; s++) {
                float v = row[i * nb + s];
                t[s] = v > t[s] ? v : t[s];
            }
        memset(z, 0, nb * sizeof(float));
        for (int64_t i = 0; i < g; i++)
#pragma omp simd
            for (int64_t s = 0; s < nb; s++) {
                float v = row[i * nb + s] - t[s];
                v = v < -floor_nats ? -floor_nats : v;
                float e = exp_f(v);
                row[i * nb + s] = e;
                z[s] += e;
            }
    }
}

/* r[b, i, s] = resp[b, i, s] * gt[b * gt_stride + s] ([B, g, nb]); n [g, nb] = sum_b r. */
void gmm_weight_resp(const float *resp, const float *gt, int64_t gt_stride, int64_t B, int64_t g, int64_t nb,
                     float *r, float *n) {
    memset(n, 0, g * nb * sizeof(float));
    for (int64_t b = 0; b < B; b++) {
        const float *gr = gt + b * gt_stride;
        for (int64_t i = 0; i < g; i++) {
            const float *src = resp + (b * g + i) * nb;
            float *dst = r + (b * g + i) * nb, *ni = n + i * nb;
#pragma omp simd
            for (int64_t s = 0; s < nb; s++) {
                float v = src[s] * gr[s];
                dst[s] = v;
                ni[s] += v;
            }
        }
    }
}

/* With mc = mu - centre, t = P1 - n mc (= sum_b R (x_b - mu)):
   gm = t/Sigma, glv = (P2 - mc (t + n mc/2))/Sigma - n/2, 0 where Sigma' < log_floor.
   p1, p2, iv: [K, d]; n: [K]; means, log_vars, gm, glv: [nb, g, d]; gm or glv may be NULL. */
void gmm_param_grads(const float *p1, const float *p2, const float *n, const float *iv, const float *means,
                     const float *log_vars, const float *centre, float log_floor, int64_t nb, int64_t g,
                     int64_t d, float *gm, float *glv) {
    for (int64_t s = 0; s < nb; s++)
        for (int64_t i = 0; i < g; i++) {
            const int64_t k = i * nb + s, src = (s * g + i) * d;
            const float nk = n[k], half_n = 0.5f * nk;
            const float *a = p1 + k * d, *b = p2 + k * d, *v = iv + k * d, *mu = means + src, *lv = log_vars + src;
            if (gm) {
#pragma omp simd
                for (int64_t j = 0; j < d; j++)
                    gm[src + j] = (a[j] - (mu[j] - centre[j]) * nk) * v[j];
            }
            if (glv) {
#pragma omp simd
                for (int64_t j = 0; j < d; j++) {
                    float mc = mu[j] - centre[j];
                    float t = a[j] - mc * nk;
                    float u = t + mc * half_n;
                    float gv = (b[j] - mc * u) * v[j] - half_n;
                    glv[src + j] = lv[j] < log_floor ? 0.0f : gv;
                }
            }
        }
}
"""

# -O3 vectorises the loops (no -ffast-math: it would reassociate the exp reduction steps);
# -fopenmp-simd only honours the '#pragma omp simd' reductions (no OpenMP runtime). One clone per
# instruction set instead of -march=native, so that a cached build is right on any x86-64 CPU.
_FLAGS = ["-O3", "-fPIC", "-shared", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math"]
_X86_CLONES = '__attribute__((target_clones("avx512f", "avx2", "default")))'

# A build's compiles time out after 300 s each (at most two), so a build directory unchanged for
# an hour was left by a killed build.
_COMPILE_TIMEOUT_S = 300
_STALE_BUILD_S = 3600

_lib = None
_tried = False
_log = logging.getLogger(__name__)


def _source() -> str:
    if sys.platform.startswith("linux") and os.uname().machine == "x86_64":
        # the exported functions get per-ISA clones, chosen at load time
        return _SOURCE.replace("\nvoid gmm_", f"\n{_X86_CLONES}\nvoid gmm_")
    return _SOURCE


def _compiler_id(cc: list[str]) -> str:
    """$CC's words and, for each that names a program, its resolved path, size and mtime: a changed
    compiler (upgrade, another one on $PATH) changes the cache key without running it, so that a
    cache hit starts no process. A wrapper that picks its compiler itself (a script, ccache's
    masquerading links) counts as the wrapper: an in-place upgrade behind it keeps the old build."""
    parts = list(cc)
    for word in cc:
        prog = shutil.which(word)
        if prog:
            st = os.stat(prog)
            parts += [os.path.realpath(prog), str(st.st_size), str(st.st_mtime_ns)]
    return "\0".join(parts)


def _cache_dirs() -> list[tuple[str, bool]]:
    """(directory, private) in the order tried: $TORCH_EXTENSIONS_DIR (default
    ~/.cache/torch_extensions)/dgmm_gmm_kernels, then, for a read-only home, a directory of this
    user's in the temporary directory (private: others could plant a library in a shared one)."""
    root = os.environ.get("TORCH_EXTENSIONS_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                                  "torch_extensions")
    return [(os.path.join(root, "dgmm_gmm_kernels"), False),
            (os.path.join(tempfile.gettempdir(), f"dgmm_gmm_kernels_{os.getuid()}"), True)]


def _compile(cc: list[str], src: str, tmp: str) -> str:
    c_file, so_file = os.path.join(tmp, "gmm_kernels.c"), os.path.join(tmp, "gmm_kernels.so")
    with open(c_file, "w") as f:
        f.write(src)
    subprocess.run([*cc, *_FLAGS, c_file, "-o", so_file], capture_output=True, text=True, check=True,
                   timeout=_COMPILE_TIMEOUT_S)
    return so_file


def _remove_stale_builds(d: str) -> None:
    """Remove the build directories (tempfile's tmp*) in the cache directory d unchanged for
    _STALE_BUILD_S: left by a killed build (of any host sharing the cache, any key, any version of
    this code); a live build's is younger. Best effort: what cannot be removed stays."""
    now = time.time()
    try:
        entries = list(os.scandir(d))
    except OSError:
        return
    for e in entries:
        try:
            if (e.name.startswith("tmp") and e.is_dir(follow_symlinks=False)
                    and now - e.stat(follow_symlinks=False).st_mtime > _STALE_BUILD_S):
                shutil.rmtree(e.path)
                _log.info("GMM layer: removed %s, left by a killed kernel build", e.path)
        except OSError:  # removed by a concurrent build first, or not ours to remove
            continue


def _build(cc: list[str], tmp: str, lib: str) -> None:
    """Compile in the private directory tmp and rename the result to lib (atomic: a concurrent build
    of the same key just replaces it). A compiler without target_clones (older ones) gets a baseline
    build, cached under the same key: the key names the inputs, the file is the best they allow."""
    try:
        so_file = _compile(cc, _source(), tmp)
    except subprocess.CalledProcessError as e:
        if _source() == _SOURCE:
            raise
        _log.warning("GMM layer: %s failed on the kernels with target_clones (%s); retrying without them",
                     cc[0], e.stderr.strip()[-300:])
        so_file = _compile(cc, _SOURCE, tmp)
    os.replace(so_file, lib)


def _cut_short(lib: str) -> bool:
    """Whether an ELF file ends before its section header table does (linkers write it last): a file
    truncated past its headers (a killed copy) crashes dlopen with SIGBUS instead of failing it."""
    with open(lib, "rb") as f:
        h = f.read(64)
    if len(h) < 64 or h[:4] != b"\x7fELF":
        return False  # dlopen rejects it cleanly
    wide = h[4] == 2  # ELFCLASS64; byte 5: 1 little-endian
    # e_shoff, (e_flags, e_ehsize, e_phentsize, e_phnum), e_shentsize, e_shnum
    shoff, shentsize, shnum = struct.unpack_from(("<" if h[5] == 1 else ">") + ("Q10xHH" if wide else "I10xHH"),
                                                 h, 40 if wide else 32)
    return shoff + shentsize * shnum > os.path.getsize(lib)


def _open(cc: list[str]) -> ctypes.CDLL:
    """The cached library of this source, flags and compiler, (re)built where it is missing or does
    not load (a corrupt or truncated file) in the first cache directory that can be written."""
    key = hashlib.sha256("\0".join([_source(), " ".join(_FLAGS), _compiler_id(cc)]).encode()).hexdigest()[:16]
    unusable = []
    for d, private in _cache_dirs():
        lib = os.path.join(d, f"gmm_kernels_{key}.so")
        try:
            os.makedirs(d, mode=0o700 if private else 0o777, exist_ok=True)
            st = os.stat(d)
            if private and (st.st_uid != os.getuid() or st.st_mode & 0o077):
                raise PermissionError(f"not private to this user (owner {st.st_uid}, mode {st.st_mode & 0o777:o})")
            if os.path.exists(lib):
                try:
                    if _cut_short(lib):
                        raise OSError("cut short")
                    return ctypes.CDLL(lib)
                except OSError as e:
                    _log.warning("GMM layer: cached kernels %s do not load (%s); rebuilding them", lib, e)
            _remove_stale_builds(d)
            tmp = tempfile.TemporaryDirectory(dir=d)
        except OSError as e:  # not writable (read-only home) or not private: try the next one
            unusable.append(f"{d}: {e}")
            continue
        with tmp:
            _build(cc, tmp.name, lib)
        return ctypes.CDLL(lib)
    raise OSError("no usable cache directory: " + "; ".join(unusable))


def load():
    """The compiled kernels (a ctypes library), or None where they cannot be built or
    DGMM_GMM_KERNELS=eager; built and loaded once per process."""
    global _lib, _tried
    if _tried:
        return _lib
    _tried = True
    if os.environ.get("DGMM_GMM_KERNELS", "fused") == "eager":
        return None
    cc = shlex.split(os.environ.get("CC", "")) or [shutil.which("cc") or shutil.which("gcc") or ""]
    try:
        if not shutil.which(cc[0]):
            raise OSError(f"no C compiler ({cc[0] or '$CC, cc, gcc'} not found)")
        lib = _open(cc)
    except Exception as e:  # any failure to build or load (bad $CC, compiler error or hang, ...): torch path
        detail = getattr(e, "stderr", "") or str(e)
        _log.warning("GMM layer: fused CPU kernels unavailable, using the torch path (%s)", detail.strip()[-500:])
        return None
    f, i, p = ctypes.c_float, ctypes.c_int64, ctypes.c_void_p
    lib.gmm_fill.argtypes = [p, p, p, p, f, i, i, i, p, p, p, p]
    lib.gmm_resp.argtypes = [p, i, i, i, f, p, p]
    lib.gmm_weight_resp.argtypes = [p, p, i, i, i, i, p, p]
    lib.gmm_param_grads.argtypes = [p, p, p, p, p, p, p, f, i, i, i, p, p]
    for fn in (lib.gmm_fill, lib.gmm_resp, lib.gmm_weight_resp, lib.gmm_param_grads):
        fn.restype = None
    _lib = lib
    return lib


def _ptr(t: Tensor | None):
    return None if t is None else t.data_ptr()


def fill(lib, means: Tensor, log_vars: Tensor, log_w: Tensor | None, centre: Tensor, log_floor: float | None,
         iv: Tensor, m_iv: Tensor, const: Tensor | None, c_sq: Tensor | None) -> None:
    """means, log_vars: [nb, g, d]; log_w [nb, g] (None with const, c_sq: the backward's fill);
    centre [d]; outputs iv, m_iv [K, d], const, c_sq [K]."""
    nb, g, d = means.shape
    cap = float("inf") if log_floor is None else -log_floor
    lib.gmm_fill(_ptr(means), _ptr(log_vars), _ptr(log_w), _ptr(centre), cap, nb, g, d,
                 _ptr(iv), _ptr(m_iv), _ptr(const), _ptr(c_sq))


def resp(lib, ll: Tensor, g: int, floor_nats: float, top: Tensor, tot: Tensor) -> None:
    """ll [B, g*nb] -> exp(max(ll - top, -floor_nats)) in place; top, tot [B, nb] (max, sum over g)."""
    B, K = ll.shape
    lib.gmm_resp(_ptr(ll), B, g, K // g, floor_nats, _ptr(top), _ptr(tot))


def weight_resp(lib, resp: Tensor, g: int, g_tot: Tensor, r: Tensor, n: Tensor) -> None:
    """r [B, g*nb] = resp [B, g*nb] x g_tot [B, nb] (a column slice of a row-major [B, S] tensor,
    broadcast over the g components); n [g*nb] = sum_b r."""
    B, K = resp.shape
    lib.gmm_weight_resp(_ptr(resp), _ptr(g_tot), g_tot.stride(0), B, g, K // g, _ptr(r), _ptr(n))


def param_grads(lib, p1: Tensor, p2: Tensor, n: Tensor, iv: Tensor, means: Tensor, log_vars: Tensor,
                centre: Tensor, log_floor: float | None, gm: Tensor | None, glv: Tensor | None) -> None:
    """p1 = R^T xc, p2 = R^T xc^2/2, iv [K, d]; n [K]; means, log_vars and the outputs gm = d/d mu,
    glv = d/d Sigma' [nb, g, d] (either may be None)."""
    nb, g, d = means.shape
    lib.gmm_param_grads(_ptr(p1), _ptr(p2), _ptr(n), _ptr(iv), _ptr(means), _ptr(log_vars), _ptr(centre),
                        float("-inf") if log_floor is None else log_floor, nb, g, d, _ptr(gm), _ptr(glv))
