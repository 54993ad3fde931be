"""Reads basin-landscape's golden VTK/PLY files back with meshio, the reader
ParaView-adjacent tools use, and checks their contents independently of the
Rust writer (tests/export.rs compares the writer's output to these files).

    venv/bin/pip install meshio numpy
    venv/bin/python check_export.py

Checked with meshio 5.3.5 and numpy 2.4.6: prints "ok".
"""
import math

import meshio
import numpy as np

s = meshio.read("export_surface.vtk")
assert s.points.shape == (6, 3), s.points.shape
# loss = 1 + x^2 + 2y^2 on x in {-1, 0, 1}, y in {-0.5, 0.5}, x fastest; (1, 0.5) is inf.
for (x, y, z), loss, finite in zip(s.points, s.point_data["train_loss"][:, 0], s.point_data["finite"][:, 0]):
    want = 1 + x * x + 2 * y * y
    if x == 1 and y == 0.5:
        assert math.isnan(loss) and finite == 0 and z == 0
    else:
        assert abs(loss - want) < 1e-12 and finite == 1 and abs(z - want) < 1e-12

m = meshio.read("export_surface.ply")
assert m.points.shape == (5, 3)
tri = m.cells_dict["triangle"]
assert tri.shape == (2, 3)
# Both triangles lie in the cell x in [-1, 0] and cover it once.
corners = {tuple(m.points[i][:2]) for t in tri for i in t}
assert corners == {(-1.0, -0.5), (-1.0, 0.5), (0.0, -0.5), (0.0, 0.5)}, corners
assert np.allclose(m.point_data["train_loss"], m.points[:, 2])

p = meshio.read("export_path.vtk")
assert p.points.shape == (2, 3)
assert len(p.cells) == 1 and p.cells[0].data.tolist() == [[0, 1]], p.cells
assert np.allclose(p.point_data["off_plane"][:, 0], [0.1, 0.0])
assert np.allclose(p.points, [[-0.8, 0.4, 2.0], [0.0, 0.0, 1.0]])
print("ok")
