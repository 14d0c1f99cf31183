import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"$', (HERE / "rtropo" / "__init__.py").read_text(), flags=re.M
)[1]

setup(
    name="rapidsms-tropo",
    version=VERSION,
    description="Tropo backend for RapidSMS: durable outbound queue, inbound SMS, emulator",
    long_description=(HERE / "README.rst").read_text(encoding="utf-8"),
    long_description_content_type="text/x-rst",
    license="BSD-3-Clause",
    url="https://github.com/rapidsms/rapidsms-tropo",
    packages=find_packages(include=["rtropo", "rtropo.*"]),
    python_requires=">=3.11",
    install_requires=[
        "rapidsms>=2.2,<3",
        "Django>=4.2,<6.2",
        # RapidSMS 2.2's table templates use {% querystring %}, renamed in django-tables2 3.0.
        "django-tables2>=2.1.1,<2.9",
        "requests>=2.28",
    ],
    extras_require={"celery": ["celery>=5.3"]},
    classifiers=[
        "Development Status :: 5 - Production/Stable",
        "Environment :: Web Environment",
        "Framework :: Django",
        "Framework :: Django :: 4.2",
        "Framework :: Django :: 5.2",
        "Framework :: Django :: 6.0",
        "Framework :: Django :: 6.1",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Communications :: Telephony",
    ],
)
