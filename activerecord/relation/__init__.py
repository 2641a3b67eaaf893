"""Relations between models: BelongsTo, HasOne, HasMany (also through a join model), eager loading.

    class User(ActiveRecord):
        id: int
        posts: ClassVar[HasMany['Post']] = HasMany(foreign_key='user_id', inverse_of='user')

    user.posts()                          # read once, then cached; user.posts(reload=True)
    user.posts.query().where(...)         # a query of the user's posts
    user.posts.create(title='...')        # a post whose user_id is user.id
    User.query().with_('posts.comments')  # eager: one statement per relation level
"""
from .descriptors import BelongsTo, BoundRelation, HasMany, HasOne, Relation, relations_of
from .errors import DeleteRestrictedError, LazyLoadError, RelationError
from .strict import set_strict_loading, strict_loading
from ..query.query import Query as _Query
from .eager import load_records as _load_records

_Query.eager_loader = staticmethod(_load_records)  # the query layer's with_() hook

__all__ = ['BelongsTo', 'HasOne', 'HasMany', 'Relation', 'BoundRelation', 'relations_of',
           'RelationError', 'LazyLoadError', 'DeleteRestrictedError', 'strict_loading', 'set_strict_loading']
