# Stand-in for {name}: {base} with what Terminal-Bench's base images add (tmux, asciinema,
# WORKDIR /app), plus uv {uv_version} in ~/.local/bin with the env file its installer leaves:
# TB's test scripts run `curl https://astral.sh/uv/{uv_version}/install.sh | sh; source
# $HOME/.local/bin/env; uv ...`, and only that download needs a host this network may not reach.
FROM {tools} AS uv
RUN python3 -m pip install --no-cache-dir -q --target /opt/uv "uv=={uv_version}"

FROM {base}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y tmux asciinema \
 && rm -rf /var/lib/apt/lists/*
COPY --from=uv /opt/uv/bin/uv /opt/uv/bin/uvx /root/.local/bin/
RUN printf '#!/bin/sh\ncase ":${PATH}:" in *:"$HOME/.local/bin":*) ;; *) export PATH="$HOME/.local/bin:$PATH" ;; esac\n' > /root/.local/bin/env
ENV UV_NATIVE_TLS=1
WORKDIR /app
