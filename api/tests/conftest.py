import pytest

from api.tests.factories import integration_user


@pytest.fixture
def integration(db):
    return integration_user()
