"""Independent count (pyosmium) of the OSM features the .osm.pbf reader must select.

Usage: count_osm.py FILE W S E N HIGHWAYS EXCLUDED_SERVICE EXCLUDED_SURFACE
Prints: building_ways building_relations street_ways
A feature counts when its geometry (polygon rings or line) intersects the bbox.
"""
import sys

import osmium

path = sys.argv[1]
W, S, E, N = map(float, sys.argv[2:6])
HIGHWAYS = set(sys.argv[6].split(","))
EX_SERVICE = set(filter(None, sys.argv[7].split(",")))
EX_SURFACE = set(filter(None, sys.argv[8].split(",")))


def seg_hits(a, b):
    """Liang-Barsky: does segment a-b meet the closed bbox?"""
    x0, y0 = a
    dx, dy = b[0] - x0, b[1] - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - W), (dx, E - x0), (-dy, y0 - S), (dy, N - y0)):
        if p == 0:
            if q < 0:
                return False
        else:
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 > t1:
                return False
    return True


def line_hits(pts):
    if any(W <= x <= E and S <= y <= N for x, y in pts):
        return True
    return any(seg_hits(pts[i], pts[i + 1]) for i in range(len(pts) - 1))


def inside(px, py, ring):
    c = False
    for i in range(len(ring) - 1):
        (x1, y1), (x2, y2) = ring[i], ring[i + 1]
        if (y1 > py) != (y2 > py) and px < x1 + (py - y1) * (x2 - x1) / (y2 - y1):
            c = not c
    return c


def ring_hits(ring):
    return line_hits(ring) or inside((W + E) / 2, (S + N) / 2, ring)


def is_building(tags):
    if tags.get("building", "no") == "no":
        return False
    return tags.get("natural") != "water" and "waterway" not in tags


class Counter(osmium.SimpleHandler):
    def __init__(self):
        super().__init__()
        self.building_ways = 0
        self.building_relations = 0
        self.street_ways = 0

    def way(self, w):
        tags = {t.k: t.v for t in w.tags}
        try:
            pts = [(n.lon, n.lat) for n in w.nodes]
        except osmium.InvalidLocationError:
            return
        if is_building(tags) and len(pts) >= 4 and w.nodes[0].ref == w.nodes[-1].ref and ring_hits(pts):
            self.building_ways += 1
        if (
            tags.get("highway") in HIGHWAYS
            and tags.get("service") not in EX_SERVICE
            and tags.get("surface") not in EX_SURFACE
            and tags.get("tunnel") != "yes"
            and tags.get("covered") != "yes"
            and len(pts) >= 2
            and line_hits(pts)
        ):
            self.street_ways += 1

    def area(self, a):
        if a.from_way():
            return
        tags = {t.k: t.v for t in a.tags}
        # libosmium builds areas from multipolygon (and boundary) relations and drops
        # their "type" tag.
        if not is_building(tags):
            return
        rings = [[(n.lon, n.lat) for n in r] for r in a.outer_rings()]
        if any(ring_hits(r) for r in rings):
            self.building_relations += 1


c = Counter()
c.apply_file(path, locations=True)
print(c.building_ways, c.building_relations, c.street_ways)
