# Stand-in for {name}: CPython {version} built from source under /usr/local on {base}, laid
# out as the official python image does (python, pip, python-config on PATH; for 3.11 and older,
# setuptools 65.5.1, wheel, and pip 23.0.1 where ensurepip's is older). The source is the CPython
# tarball in {source_archive}'s python{version} source package (apt checks its signature and checksums).
FROM {base} AS build
COPY keyrings/ /etc/apt/termigen-keyrings/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dpkg-dev gcc \
      libbz2-dev libc6-dev libdb-dev libexpat1-dev libffi-dev libgdbm-dev liblzma-dev libncursesw5-dev libreadline-dev \
      libsqlite3-dev libssl-dev make tk-dev uuid-dev xz-utils zlib1g-dev
RUN printf 'Types: deb-src\nURIs: {source_archive}\nSuites: {source_suites}\nComponents: {source_components}\nSigned-By: {source_keyring}\n' \
      > /etc/apt/sources.list.d/cpython-source.sources \
 && apt-get update \
 && mkdir -p /usr/src/python && cd /usr/src/python \
 && apt-get source --download-only -qq python{version} \
 && tar -xf python{version}_*.orig.tar.[gx]z --strip-components=1 \
 && rm python{version}_*
WORKDIR /usr/src/python
RUN ./configure --build="$(dpkg-architecture --query DEB_BUILD_GNU_TYPE)" --enable-loadable-sqlite-extensions \
      --enable-option-checking=fatal --enable-shared --with-system-expat --with-ensurepip=install \
 && make -s -j"$(nproc)" \
 && make -s install \
 && ldconfig \
 && find /usr/local -depth \( \( -type d -a \( -name test -o -name tests -o -name idle_test \) \) \
      -o \( -type f -a \( -name '*.pyc' -o -name '*.pyo' -o -name 'libpython*.a' \) \) \) -exec rm -rf '{}' + \
 && for src in idle3 pydoc3 python3 python3-config pip3; do ln -svfT "$src" "/usr/local/bin/${src%3}"; done \
 && export PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
 && if python3 -c 'import sys; sys.exit(sys.version_info >= (3, 12))'; then \
      python3 -m pip install --disable-pip-version-check --no-cache-dir --no-compile "setuptools==65.5.1" "wheel<0.46" \
      && if python3 -c 'import pip, sys; sys.exit(tuple(map(int, pip.__version__.split(".")[:2])) >= (23, 0))'; then \
           python3 -m pip install --disable-pip-version-check --no-cache-dir --no-compile "pip==23.0.1"; fi; fi \
 && python3 -m pip --version

FROM {base}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends netbase tzdata \
      libbz2-1.0 libdb5.3 libexpat1 libffi8 libgdbm6 liblzma5 libncursesw6 libreadline8 libsqlite3-0 libssl3 libtk8.6 \
      libuuid1 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/ /usr/local/
RUN ldconfig && python --version && pip --version
ENV PATH=/usr/local/bin:$PATH \
    LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
