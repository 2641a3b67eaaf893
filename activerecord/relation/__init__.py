"""Relations between models: BelongsTo, HasOne, HasMany (also through a join model), eager loading.

    class User(ActiveRecord):
        id: int
        posts: ClassVar[HasMany['Post']] = HasMany(foreign_key='user_id', inverse_of='user')

    user.posts()                          # read once, then cached; user.posts(reload=True)
    user.posts.query().where(...)         # a query of the user's posts
    user.posts.create(title='...')        # a post whose user_id is user.id
    user.groups.add(group, role='admin')  # through: saves the join record (also remove, set)
    User.query().with_('posts.comments')  # eager: one statement per relation level
"""
from ..query import register_eager_loading
from .descriptors import BelongsTo, BoundRelation, HasMany, HasOne, Relation, relations_of
from .eager import compile_paths, load_records
from .errors import DeleteRestrictedError, LazyLoadError, RelationError
from .strict import set_strict_loading, strict_loading

register_eager_loading(compile_paths, load_records)  # what the query layer's with_() runs

__all__ = ['BelongsTo', 'HasOne', 'HasMany', 'Relation', 'BoundRelation', 'relations_of',
           'RelationError', 'LazyLoadError', 'DeleteRestrictedError', 'strict_loading', 'set_strict_loading']
