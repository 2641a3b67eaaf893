"""Declaring relations: targets found like pydantic forward references; bad declarations named at first use.

This module deliberately has no `from __future__ import annotations`: its local models give
their annotations as objects (ForwardRef, classes), where models.py gives them as strings.
No database is needed: resolution only reads the model classes.
"""
from typing import Annotated, ClassVar, Optional

import pytest

from activerecord import ActiveRecord, Column
from activerecord.relation import BelongsTo, HasMany, HasOne, RelationError, relations_of

from .support import statements
from .models import Comment, Post, User


def test_targets_resolve_from_strings_forward_refs_and_classes():
    class DeclShelf(ActiveRecord):
        __table_name__ = 'decl_shelves'
        id: int
        books: ClassVar[HasMany['DeclBook']] = HasMany(foreign_key='shelf_id', inverse_of='shelf')

    class DeclBook(ActiveRecord):
        __table_name__ = 'decl_books'
        id: int
        shelf_id: Optional[int] = None
        shelf: ClassVar[BelongsTo[DeclShelf]] = BelongsTo()          # the class itself; key shelf_id
        # a dotted name (this package's import name depends on how pytest found it)
        notes: ClassVar[HasMany[f'{Comment.__module__}.Comment']] = HasMany(foreign_key='post_id')

    assert DeclShelf.books.target is DeclBook
    assert DeclBook.shelf.target is DeclShelf and DeclBook.shelf.resolve().owner_field == 'shelf_id'
    assert DeclBook.notes.target is Comment                           # a dotted name is imported
    assert DeclShelf.books.resolve().inverse is DeclBook.shelf
    assert set(relations_of(DeclBook)) == {'shelf', 'notes'}
    # the string annotations of models.py (postponed evaluation) resolve the same way
    assert User.posts.target is Post and Post.user.target is User and Comment.parent.target is Comment


def test_the_owner_module_comes_before_other_models_of_the_same_name():
    def elsewhere():
        class Post(ActiveRecord):   # another model called Post, alive while the test runs
            __table_name__ = 'decl_other_posts'
            id: int
        return Post
    other_post = elsewhere()

    class DeclReader(ActiveRecord):
        __table_name__ = 'decl_readers'
        id: int
        favourite_id: int
        favourite: ClassVar[BelongsTo['Post']] = BelongsTo()
    assert DeclReader.favourite.target is Post and other_post is not Post   # this module imports models.Post


def test_an_ambiguous_name_is_an_error_naming_the_candidates():
    def make(table):
        class DeclTwin(ActiveRecord):
            __table_name__ = table
            id: int
        return DeclTwin
    twins = make('decl_twins_a'), make('decl_twins_b')

    def owner():
        class DeclTwinOwner(ActiveRecord):
            __table_name__ = 'decl_twin_owners'
            id: int
            twin_id: int
            twin: ClassVar[BelongsTo['DeclTwin']] = BelongsTo()
        return DeclTwinOwner
    with pytest.raises(RelationError, match=r"DeclTwinOwner\.twin: the target name 'DeclTwin' is ambiguous "
                                            r'\(.*make\.<locals>\.DeclTwin, .*make\.<locals>\.DeclTwin\)'):
        owner().twin.target
    assert len(twins) == 2


def test_a_misspelled_class_name_is_named_at_first_use():
    class DeclAuthor(ActiveRecord):
        __table_name__ = 'decl_authors'
        id: int
        novels: ClassVar[HasMany['DeclNovle']] = HasMany(foreign_key='author_id')

    class DeclNovel(ActiveRecord):
        __table_name__ = 'decl_novels'
        id: int
        author_id: int

    message = r"DeclAuthor\.novels: no model class named 'DeclNovle'.*did you mean DeclNovel\?"
    with statements() as sent:
        with pytest.raises(RelationError, match=message):
            DeclAuthor.query().with_('novels')
        with pytest.raises(RelationError, match=message):
            DeclAuthor(id=1).novels()
    assert sent == []


def test_a_missing_foreign_key_column_is_named_at_first_use():
    class DeclVolume(ActiveRecord):
        __table_name__ = 'decl_volumes'
        id: int
        pages: ClassVar[HasMany['DeclPage']] = HasMany(foreign_key='volume_id')
        cover: ClassVar[HasOne['DeclPage']] = HasOne()        # default foreign key: decl_volume_id

    class DeclPage(ActiveRecord):
        __table_name__ = 'decl_pages'
        id: int
        book_id: int
        volume: ClassVar[BelongsTo['DeclVolume']] = BelongsTo()   # default foreign key: volume_id

    with pytest.raises(RelationError, match=r"DeclVolume\.pages: foreign_key 'volume_id' is not a field of "
                                            r'DeclPage \(its fields: id, book_id\)'):
        DeclVolume.query().with_('pages')
    with pytest.raises(RelationError,
                       match=r"DeclVolume\.cover: foreign_key 'decl_volume_id' is not a field of DeclPage"):
        DeclVolume(id=1).cover()
    with pytest.raises(RelationError, match=r"DeclPage\.volume: foreign_key 'volume_id' is not a field of DeclPage"):
        DeclPage(id=1, book_id=2).volume()


def test_a_foreign_key_may_be_given_as_its_column_name():
    class DeclDesk(ActiveRecord):
        __table_name__ = 'decl_desks'
        id: int
        drawers: ClassVar[HasMany['DeclDrawer']] = HasMany(foreign_key='desk_ref')

    class DeclDrawer(ActiveRecord):
        __table_name__ = 'decl_drawers'
        id: int
        desk: Annotated[int, Column(name='desk_ref')]
    assert DeclDesk.drawers.resolve().target_field == 'desk'


def test_an_unknown_relation_in_with_is_named_before_any_sql():
    with statements() as sent:
        with pytest.raises(RelationError, match=r"User has no relation 'postz' \(in with_\('postz'\)\); "
                                                r'relations of User: posts, profile, memberships, groups'):
            User.query().with_('postz')
        with pytest.raises(RelationError, match=r"Post has no relation 'commentz' \(in with_\('posts\.commentz'\)\)"):
            User.query().with_('posts.commentz')
        with pytest.raises(RelationError, match=r'expected a relation path'):
            User.query().with_(('posts',))
        with pytest.raises(RelationError, match=r"two different modifiers for 'posts' of User"):
            User.query().with_(('posts', lambda q: q), ('posts', lambda q: q.limit(1)))
    assert sent == []


def test_inverse_of_must_name_the_mirror_relation():
    class DeclCrate(ActiveRecord):
        __table_name__ = 'decl_crates'
        id: int
        bottles: ClassVar[HasMany['DeclBottle']] = HasMany(foreign_key='crate_id', inverse_of='crat')
        corks: ClassVar[HasMany['DeclBottle']] = HasMany(foreign_key='crate_id', inverse_of='other')

    class DeclBottle(ActiveRecord):
        __table_name__ = 'decl_bottles'
        id: int
        crate_id: int
        other_id: int
        crate: ClassVar[BelongsTo['DeclCrate']] = BelongsTo()
        other: ClassVar[BelongsTo['DeclCrate']] = BelongsTo()
    with pytest.raises(RelationError, match=r"DeclCrate\.bottles: inverse_of='crat' is not a relation of DeclBottle "
                                            r'\(its relations: crate, other\)'):
        DeclCrate.bottles.resolve()
    with pytest.raises(RelationError, match=r"DeclCrate\.corks: inverse_of='other' names DeclBottle\.other, which "
                                            r'does not relate DeclBottle\.crate_id to DeclCrate\.id'):
        DeclCrate.corks.resolve()


def test_composite_keys_need_an_explicit_field():
    class DeclTile(ActiveRecord):
        __table_name__ = 'decl_tiles'
        __primary_key__ = ('x', 'y')
        x: int
        y: int
        code: str

    class DeclMosaic(ActiveRecord):
        __table_name__ = 'decl_mosaics'
        id: int
        tile_code: str
        tile: ClassVar[BelongsTo['DeclTile']] = BelongsTo(foreign_key='tile_code')
        by_code: ClassVar[BelongsTo['DeclTile']] = BelongsTo(foreign_key='tile_code', primary_key='code')
    with pytest.raises(RelationError, match=r"DeclMosaic\.tile: DeclTile has the composite primary key \('x', 'y'\)"):
        DeclMosaic.tile.resolve()
    assert DeclMosaic.by_code.resolve().target_field == 'code'


def test_through_declarations_are_checked():
    class DeclClub(ActiveRecord):
        __table_name__ = 'decl_clubs'
        id: int
        seats: ClassVar[HasMany['DeclSeat']] = HasMany(foreign_key='club_id')
        guests: ClassVar[HasMany['DeclGuest']] = HasMany(through='seatz')
        people: ClassVar[HasMany['DeclGuest']] = HasMany(through='seats')
        named: ClassVar[HasMany['DeclGuest']] = HasMany(through='seats', source='host')

    class DeclGuest(ActiveRecord):
        __table_name__ = 'decl_guests'
        id: int

    class DeclSeat(ActiveRecord):
        __table_name__ = 'decl_seats'
        id: int
        club_id: int
        guest_id: int
        host_id: int
        guest: ClassVar[BelongsTo['DeclGuest']] = BelongsTo()
        host: ClassVar[BelongsTo['DeclGuest']] = BelongsTo()
    with pytest.raises(RelationError, match=r"DeclClub\.guests: through='seatz' is not a relation of DeclClub"):
        DeclClub.query().with_('guests')
    with pytest.raises(RelationError, match=r'DeclClub\.people: cannot tell which relation of DeclSeat leads to '
                                            r'DeclGuest \(found: DeclSeat\.guest, DeclSeat\.host\); give source='):
        DeclClub.people.resolve()
    assert DeclClub.named.resolve().source is DeclSeat.host
    with pytest.raises(RelationError, match='foreign_key, primary_key and dependent belong on the relations'):
        HasMany(through='seats', foreign_key='x')
    with pytest.raises(RelationError, match='needs through='):
        HasMany(source='guest')


def test_options_are_checked_when_declared_or_first_used():
    with pytest.raises(RelationError, match=r"HasMany\(dependent='destroy'\): expected one of 'delete', "
                                            r"'delete_all', 'nullify', 'restrict'"):
        HasMany(foreign_key='x', dependent='destroy')
    with pytest.raises(RelationError, match=r'BelongsTo\(foreign_key=3\): expected a field name'):
        BelongsTo(foreign_key=3)

    class DeclOrchard(ActiveRecord):
        __table_name__ = 'decl_orchards'
        id: int
        trees: ClassVar[HasMany['DeclTree']] = HasMany(foreign_key='orchard_id', dependent='nullify')
        untyped: ClassVar[HasMany] = HasMany(foreign_key='orchard_id')

    class DeclTree(ActiveRecord):
        __table_name__ = 'decl_trees'
        id: int
        orchard_id: int
    with pytest.raises(RelationError, match=r"DeclOrchard\.trees: dependent='nullify' needs a nullable foreign key, "
                                            r'but DeclTree\.orchard_id is not Optional'):
        DeclOrchard.trees.resolve()
    with pytest.raises(RelationError, match=r'DeclOrchard\.untyped: .* does not name the target model'):
        DeclOrchard.untyped.resolve()


def test_one_relation_object_belongs_to_one_model():
    shared = HasMany(foreign_key='owner_id')

    class DeclFirst(ActiveRecord):
        __table_name__ = 'decl_firsts'
        id: int
        items: ClassVar[HasMany['DeclFirst']] = shared
    with pytest.raises(Exception) as caught:   # Python < 3.12 wraps errors of __set_name__ in RuntimeError
        class DeclSecond(ActiveRecord):
            __table_name__ = 'decl_seconds'
            id: int
            items: ClassVar[HasMany['DeclFirst']] = shared
    error = caught.value if isinstance(caught.value, RelationError) else caught.value.__cause__
    assert isinstance(error, RelationError)
    assert 'DeclSecond.items: this HasMany object is already DeclFirst.items' in str(error)
