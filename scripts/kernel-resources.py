#!/usr/bin/env python3
"""Registers, spills and shared memory of every kernel, as ptxas reports them, without a GPU.

Compiles the library's kernel files (src/NcclEp/Kernels, or a kernel-variants/<name> folder) with NVRTC for sm_90
(--ptxas-options=-v) for the table's (mode, layout) builds at hidden 7168, top-8, bf16, plus FP8 and per-rank partials,
and prints one line per entry point. The kernels run 512 threads per block, so ptxas has at most 128 registers a
thread; a spill goes to local memory, which costs time on the data path. Usage:
    python3 scripts/kernel-resources.py [kernel folder] [extra -D options...]
Loads the file NCCLEP_NVRTC_PATH names, else libnvrtc.so.12 (NVRTC 12.4 in CI), else libnvrtc.so.11.2 (NVRTC 11.8), both
installed by .ci/install-nvrtc.sh, and says first which NVRTC it used: register allocation differs between versions, and
the GPU machine's NVRTC (13) makes the figures that count.
"""
import ctypes, os, re, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
folder = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith('-') else os.path.join(root, 'src/NcclEp/Kernels')
extra = [a for a in sys.argv[1:] if a.startswith('-')]

def load_nvrtc():
    if os.environ.get('NCCLEP_NVRTC_PATH'):
        return os.environ['NCCLEP_NVRTC_PATH'], ctypes.CDLL(os.environ['NCCLEP_NVRTC_PATH'])
    for name in ('libnvrtc.so.12', 'libnvrtc.so.11.2'):
        try:
            return name, ctypes.CDLL(name)
        except OSError:
            pass
    sys.exit('no NVRTC: neither libnvrtc.so.12 nor libnvrtc.so.11.2 loads (.ci/install-nvrtc.sh installs both); '
             'NCCLEP_NVRTC_PATH names another file')

library, nvrtc = load_nvrtc()
major, minor = ctypes.c_int(), ctypes.c_int()
nvrtc.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
print(f'NVRTC {major.value}.{minor.value} ({library}), sm_90, hidden 7168, top-8, bf16')
units = re.findall(r'"(ep_[a-z0-9_]+\.cu)"', open(os.path.join(root, 'src/NcclEp/Cuda/KernelSource.cs')).read())
headers = {n: open(os.path.join(folder, n)).read() for n in os.listdir(folder) if n.endswith('.cuh')}
source = '\n'.join(open(os.path.join(folder, u)).read() for u in units)

def compile(defines):
    program = ctypes.c_void_p()
    names = list(headers)
    texts = (ctypes.c_char_p * len(names))(*[headers[n].encode() for n in names])
    keys = (ctypes.c_char_p * len(names))(*[n.encode() for n in names])
    nvrtc.nvrtcCreateProgram(ctypes.byref(program), source.encode(), b'ep.cu', len(names), texts, keys)
    options = ['--gpu-architecture=sm_90', '-std=c++17', '--fmad=false', '-default-device', '--ptxas-options=-v',
               '-DNCCLEP_HIDDEN=7168', '-DNCCLEP_TOPK=8', '-DNCCLEP_DTYPE=0'] + defines + extra
    array = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
    result = nvrtc.nvrtcCompileProgram(program, len(options), array)
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(program, log)
    return result, log.value.decode()

builds = [('LL expert-major', ['-DNCCLEP_MODE=0', '-DNCCLEP_LAYOUT=1']), ('LL rank-major', ['-DNCCLEP_MODE=0', '-DNCCLEP_LAYOUT=2']),
          ('HT flat', ['-DNCCLEP_MODE=1', '-DNCCLEP_LAYOUT=0']), ('HT expert-major', ['-DNCCLEP_MODE=1', '-DNCCLEP_LAYOUT=1'])]
failed = False
for name, defines in builds:
    for variant, more in [('', []), (' fp8', ['-DNCCLEP_QUANT=1']), (' per-rank', ['-DNCCLEP_COMBINE_PER_RANK=1'])]:
        if variant == ' per-rank' and 'LAYOUT=1' not in defines[1]:
            continue
        result, log = compile(defines + more)
        if result != 0:
            print(f'{name}{variant}: compile failed\n{log}')
            failed = True
            continue
        function = None
        for line in log.splitlines():
            m = re.search(r"Function properties for (\w+)", line)
            if m: function = m.group(1)
            m = re.search(r'(\d+) bytes spill stores, (\d+) bytes spill loads', line)
            if m and function: spills = (m.group(1), m.group(2))
            m = re.search(r'Used (\d+) registers', line)
            if m and function and function.startswith('ncclep_') and 'probe' not in function:
                print(f'{name + variant:28} {function:24} {m.group(1):>3} registers, spill stores {spills[0]:>4} B, loads {spills[1]:>4} B')
                function = None
sys.exit(1 if failed else 0)
