"""Spatial columns on MySQL/MariaDB: Point/Geometry with SRID, SPATIAL indexes, ST_ functions."""
from __future__ import annotations

from typing import Annotated, Optional

import pytest
from pydantic import Field

from activerecord import ActiveRecord, Column, errors
from activerecord.types import Geometry, Point

WGS84 = 4326


class Place(ActiveRecord):
    __table_name__ = 'ar_my_places'
    id: int
    name: Annotated[str, Field(max_length=50)]
    location: Annotated[Point, Column(srid=WGS84, index=True)]


class Area(ActiveRecord):
    __table_name__ = 'ar_my_areas'
    id: int
    name: Annotated[str, Field(max_length=50)]
    shape: Annotated[Geometry, Column(srid=WGS84, index=True)]
    sketch: Optional[Geometry] = None          # any shape, SRID 0 (planar), nullable, no index


CITIES = {  # (longitude, latitude)
    'Amsterdam': (4.9041, 52.3676), 'Utrecht': (5.1214, 52.0907), 'Paris': (2.3522, 48.8566),
    'Berlin': (13.4050, 52.5200), 'New York': (-74.0060, 40.7128),
}
NETHERLANDS = 'POLYGON((3.3 50.7,7.3 50.7,7.3 53.6,3.3 53.6,3.3 50.7))'   # a rough box
FRANCE = 'POLYGON((-5 42,8 42,8 51,-5 51,-5 42))'


@pytest.fixture
def places(db):
    db.use(Place, Area)
    Place.insert_many([{'name': name, 'location': Point(*where, srid=WGS84)} for name, where in CITIES.items()])
    Area.create(name='NL', shape=Geometry(NETHERLANDS, srid=WGS84))
    Area.create(name='FR', shape=Geometry(FRANCE))                 # takes the column's SRID
    return db


@pytest.mark.backends('mysql')
def test_columns_carry_their_srid_and_spatial_indexes(places) -> None:
    backend = places.backend
    indexes = backend.fetch_all(
        'SELECT TABLE_NAME AS t, COLUMN_NAME AS c, INDEX_TYPE AS kind FROM information_schema.STATISTICS '
        'WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?, ?) AND INDEX_TYPE = ? ORDER BY TABLE_NAME',
        ('ar_my_places', 'ar_my_areas', 'SPATIAL'))
    assert [(row['t'], row['c']) for row in indexes] == [('ar_my_areas', 'shape'), ('ar_my_places', 'location')]
    if backend.is_mariadb:
        srids = backend.fetch_all('SELECT G_TABLE_NAME AS t, SRID AS srid FROM information_schema.GEOMETRY_COLUMNS '
                                  'WHERE G_TABLE_SCHEMA = DATABASE() AND G_TABLE_NAME IN (?, ?) '
                                  'ORDER BY G_TABLE_NAME, G_GEOMETRY_COLUMN',
                                  ('ar_my_places', 'ar_my_areas'))
        assert [(row['t'], row['srid']) for row in srids] == [
            ('ar_my_areas', WGS84), ('ar_my_areas', 0), ('ar_my_places', WGS84)]
    else:
        srids = backend.fetch_all('SELECT TABLE_NAME AS t, SRS_ID AS srid FROM information_schema.ST_GEOMETRY_COLUMNS '
                                  'WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', ('ar_my_places',))
        assert [row['srid'] for row in srids] == [WGS84]


@pytest.mark.backends('mysql')
def test_points_and_shapes_round_trip(places) -> None:
    amsterdam = Place.find_one({'name': 'Amsterdam'})
    assert isinstance(amsterdam.location, Point)
    assert (amsterdam.location.x, amsterdam.location.y, amsterdam.location.srid) == (4.9041, 52.3676, WGS84)
    # The server reads the same coordinates and SRID from what was stored.
    # MySQL 8 gives geographic points' axes by name (ST_X is the latitude there); MariaDB is planar.
    x, y = ('ST_X', 'ST_Y') if places.backend.is_mariadb else ('ST_Longitude', 'ST_Latitude')
    row = places.backend.fetch_one(f'SELECT {x}(location) AS x, {y}(location) AS y, ST_SRID(location) AS srid '
                                   'FROM ar_my_places WHERE name = ?', ('Amsterdam',))
    assert (row['x'], row['y'], row['srid']) == (4.9041, 52.3676, WGS84)
    france = Area.find_one({'name': 'FR'})
    assert france.shape == Geometry(FRANCE, srid=WGS84) and france.shape.srid == WGS84
    assert places.backend.fetch_value('SELECT ST_AsText(shape) FROM ar_my_areas WHERE name = ?', ('FR',)) == \
        france.shape.wkt
    # Every 2D shape type goes in and comes back equal; a missing one stays None.
    shapes = ['LINESTRING(0 0,1 1,2 0.5)', 'POLYGON((0 0,4 0,4 4,0 4,0 0),(1 1,2 1,2 2,1 2,1 1))',
              'MULTIPOINT((0 0),(1 2))', 'MULTILINESTRING((0 0,1 1),(2 2,3 3))',
              'MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))',
              'GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1))', 'POINT(-1.5 1e-7)']
    for index, wkt in enumerate(shapes):
        area = Area.create(name=f's{index}', shape=Point(0, 0), sketch=wkt)
        back = Area.find_one(area.id)
        assert back.sketch == Geometry(wkt, srid=0) and back.sketch.srid == 0, wkt
        assert places.backend.fetch_value('SELECT ST_AsBinary(sketch) = ST_AsBinary(ST_GeomFromText(?)) '
                                          'FROM ar_my_areas WHERE id = ?', (Geometry(wkt).wkt, area.id)) == 1
    assert Area.find_one({'name': 'NL'}).sketch is None
    # A point read back is a Point, usable in Python.
    assert list(Area.find_one({'name': 's6'}).sketch) == [-1.5, 1e-7]


@pytest.mark.backends('mysql')
def test_distance_orders_places(places) -> None:
    near_utrecht = Point(5.12, 52.09)
    rows = (Place.query().select(Place.c.name, Place.c.location.st_distance_sphere(near_utrecht).as_('metres'))
            .order_by('metres').as_dicts().all())
    assert [row['name'] for row in rows] == ['Utrecht', 'Amsterdam', 'Paris', 'Berlin', 'New York']
    assert rows[0]['metres'] < 200
    assert 30_000 < rows[1]['metres'] < 40_000           # Utrecht -> Amsterdam is about 35 km
    assert 5_500_000 < rows[-1]['metres'] < 6_500_000    # and New York is an ocean away
    nearest = Place.query().order_by(Place.c.location.st_distance(near_utrecht)).limit(2).all()
    assert [place.name for place in nearest] == ['Utrecht', 'Amsterdam']
    close = Place.query().where(Place.c.location.st_distance_sphere(Point(2.35, 48.85)) < 100_000).all()
    assert [place.name for place in close] == ['Paris']


@pytest.mark.backends('mysql')
def test_contains_and_within(places) -> None:
    netherlands = Geometry(NETHERLANDS)
    inside = Place.query().where(Place.c.location.st_within(netherlands)).order_by(Place.c.name).all()
    assert [place.name for place in inside] == ['Amsterdam', 'Utrecht']
    holding = Area.query().where(Area.c.shape.st_contains(Point(2.3522, 48.8566))).all()
    assert [area.name for area in holding] == ['FR']
    # Column against column: which area each city lies in (a spatial join).
    pairs = (Place.query().select(Place.c.name, Area.c.name.as_('area'))
             .join(Area, Place.c.location.st_within(Area.c.shape)).order_by(Place.c.name).as_dicts().all())
    assert [(row['name'], row['area']) for row in pairs] == [('Amsterdam', 'NL'), ('Paris', 'FR'), ('Utrecht', 'NL')]
    sql, params = Place.query().where(Place.c.location.st_within(netherlands)).to_sql()
    assert 'ST_Within(`ar_my_places`.`location`, ?)' in sql and isinstance(params[0], bytes)


@pytest.mark.backends('mysql')
def test_spatial_values_are_validated(places) -> None:
    assert Place(name='p', location='POINT(1 2)').location == Point(1, 2)
    assert Place(name='p', location=(3, 4)).location == Point(3, 4)
    assert Place(name='p', location={'x': 1, 'y': 2, 'srid': WGS84}).location.srid == WGS84
    # (ValueError: activerecord's ValidationError, or pydantic's where the model layer passes it on)
    with pytest.raises(ValueError, match='location'):
        Place(name='p', location='LINESTRING(0 0,1 1)')
    with pytest.raises(ValueError, match='location'):
        Place(name='p', location='POINT(1)')
    with pytest.raises(errors.ActiveRecordError, match='needs a Point or Geometry field'):
        Place.c.name.st_distance(Point(0, 0))
    with pytest.raises(errors.DataError, match='WKT'):
        Place.c.location.st_within('POLYGON((0 0, 1 1')
    # JSON output writes the SRID as EWKT, which validates back to the same value.
    place = Place.find_one({'name': 'Paris'})
    assert Place.model_validate_json(place.model_dump_json()).location == place.location
    assert '"SRID=4326;POINT(2.3522 48.8566)"' in place.model_dump_json()


@pytest.mark.backends('sqlite', 'postgresql')
def test_other_backends_say_spatial_needs_mysql(db) -> None:
    with pytest.raises(errors.ConfigurationError, match="no column type for 'Point'"):
        db.use(Place)
    with pytest.raises(errors.NotSupportedError, match=f'{db.name} does not support spatial'):
        Place.query().where(Place.c.location.st_distance(Point(0, 0)) < 1).to_sql()
