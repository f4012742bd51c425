"""Every model module, imported once so that the metadata (and Alembic) knows every table."""
from .accounts import models as accounts  # noqa: F401
from .attendance import models as attendance  # noqa: F401
from .audit import models as audit  # noqa: F401
from .billing import models as billing  # noqa: F401
from .catalogue import models as catalogue  # noqa: F401
from .companies import models as companies  # noqa: F401
from .documents import models as documents  # noqa: F401
from .enrolments import models as enrolments  # noqa: F401
from .evaluations import models as evaluations  # noqa: F401
from .files import models as files  # noqa: F401
from .messaging import models as messaging  # noqa: F401
from .organisation import models as organisation  # noqa: F401
from .quality import models as quality  # noqa: F401
from .resources import models as resources  # noqa: F401
from .sessions import models as sessions  # noqa: F401
from .signing import models as signing  # noqa: F401
from .trainees import models as trainees  # noqa: F401
