"""The XLA flag jgen's binaries (and benchmarks) set; the library never does."""

# Set by the binaries (never by the library) unless XLA_FLAGS names it already: XLA:CPU
# then runs each convolution and matmul through YNNPACK, which keeps both cores busy in
# the convolutions' backward passes (PixelCNN's step: 1.6 s instead of 3.3 s, see the
# README's speed section). ``--xla_cpu_experimental_ynn_fusion_type=`` (XLA's default,
# empty) in XLA_FLAGS opts out.
CPU_XLA_FLAG = "--xla_cpu_experimental_ynn_fusion_type=individual_dot"


def with_default_xla_flags(xla_flags: str) -> str:
  """``XLA_FLAGS`` with ``CPU_XLA_FLAG`` appended, unless it sets that flag itself."""
  name = CPU_XLA_FLAG.split("=", 1)[0]
  if any(f.split("=", 1)[0] == name for f in xla_flags.split()):
    return xla_flags
  return f"{xla_flags} {CPU_XLA_FLAG}".strip()
