from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="rapidsms-tropo",
    version="1.0.0",
    description="Tropo backend for RapidSMS: durable outbound queue, inbound SMS, emulator",
    long_description=Path(__file__).with_name("README.rst").read_text(encoding="utf-8"),
    long_description_content_type="text/x-rst",
    license="BSD-3-Clause",
    url="https://github.com/rapidsms/rapidsms-tropo",
    packages=find_packages(include=["rtropo", "rtropo.*"]),
    include_package_data=True,
    package_data={"rtropo": ["emulator/static/*"]},
    python_requires=">=3.10",
    install_requires=["rapidsms>=2.2,<3", "Django>=4.2,<6", "requests>=2.28"],
    extras_require={"celery": ["celery>=5.3"]},
    classifiers=[
        "Development Status :: 5 - Production/Stable",
        "Environment :: Web Environment",
        "Framework :: Django",
        "Framework :: Django :: 4.2",
        "Framework :: Django :: 5.1",
        "Framework :: Django :: 5.2",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Topic :: Communications :: Telephony",
    ],
)
