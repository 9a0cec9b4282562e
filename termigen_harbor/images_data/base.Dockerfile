# termigen/base: the image our task Dockerfiles start FROM.
# Debian bookworm with python3, pip, tmux, curl and the host's extra CA certificates, so that
# apt and pip work inside containers behind a TLS-intercepting proxy.
FROM {rootfs}
COPY ca-certificates/ /usr/local/share/ca-certificates/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates python3 python3-pip python3-venv tmux curl procps less file \
 && update-ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# pytest for verifiers, kept in its own venv so that it is not on the agent's PATH; the venv sees the
# system's packages, so tests can import what the task's environment installs (apt or pip).
RUN python3 -m venv --system-site-packages /opt/termigen/verifier \
 && /opt/termigen/verifier/bin/pip install --no-cache-dir -q "pytest==8.4.2"
ENV PIP_BREAK_SYSTEM_PACKAGES=1 \
    PIP_ROOT_USER_ACTION=ignore \
    LANG=C.UTF-8
WORKDIR /app
