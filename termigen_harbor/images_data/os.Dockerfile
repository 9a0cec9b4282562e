# Stand-in for {name}: the distribution's minimal root filesystem (debootstrap) with the apt
# sources the official image has, trusting this network's TLS proxy (its CA certificates installed,
# SSL_CERT_FILE set) so that HTTPS works inside.
FROM {rootfs}
COPY ca-certificates/ /usr/local/share/ca-certificates/
RUN rm -f /etc/apt/sources.list \
 && printf '{apt_sources}' > /etc/apt/sources.list.d/{distro}.sources \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
CMD ["bash"]
