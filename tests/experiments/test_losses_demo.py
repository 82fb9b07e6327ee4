"""The losses demo prints bounds that match the divergences it integrates."""

from experiments import losses_demo


def test_demo_bounds_match_quadrature(capsys):
  losses_demo.main([])
  lines = capsys.readouterr().out.strip().splitlines()
  rows = [line.split() for line in lines[1:12]]
  assert len(rows) == 11
  for name, d_f, bound in rows:
    assert abs(float(d_f) - float(bound)) < 2e-3 * max(1.0, abs(float(d_f))), name
  value, target = float(lines[-1].split()[4]), float(lines[-1].split()[-1])
  assert abs(value - target) < 1e-4
