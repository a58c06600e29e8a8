from services.tourism.models import Base
from shared.migrations import run_env
from shared.tables import platform_metadata

run_env([Base.metadata, platform_metadata])
