"""Config schemas, resolvers and validation; importing this package registers them with Hydra."""

from levers.config.resolvers import register_resolvers
from levers.config.schema import register_schemas

register_resolvers()
register_schemas()
