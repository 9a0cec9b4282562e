"""One persistent bash shell inside the task's container, driven through Harbor's exec.

The shell lives in a tmux session, so its working directory, exported variables and background
processes survive between steps. Each step is ONE exec (a direct `docker exec` into the main
container on Harbor's local Docker environment, else Harbor's own exec): it writes the command to a script file,
types `source <script> > out 2> err; echo $? > rc` into the shell, waits inside the container for
the exit code (or the timeout, then interrupts the foreground job only), and prints the exit
code and head+tail-truncated stdout and stderr. Sourcing a file means a syntax error cannot leave
the shell waiting at a continuation prompt.
"""

from __future__ import annotations

import asyncio
import secrets
import shlex
import shutil
from dataclasses import dataclass
from typing import Literal

from harbor.environments.base import BaseEnvironment
from harbor.environments.docker.docker import DockerEnvironment

SESSION = "termigen"
WORKDIR = "/tmp/.termigen"


class ShellError(RuntimeError):
    """The shell could not be started or talked to."""


@dataclass
class ShellResult:
    command: str
    state: Literal["done", "timeout", "died"]
    exit_code: int | None
    stdout: str
    stderr: str
    timeout_s: float

    @property
    def timed_out(self) -> bool:
        return self.state == "timeout"

    def observation(self) -> str:
        """What the model sees after running the command."""
        parts = []
        if self.state == "timeout":
            parts.append(f"The command did not finish within {self.timeout_s:g} s and was interrupted; its foreground process was stopped. Output so far:")
        elif self.state == "died":
            parts.append("The shell exited (e.g. `exit` or `set -e`); a new shell was started in the original working directory, and variables set earlier are gone.")
        else:
            parts.append(f"exit code: {self.exit_code}")
        parts.append("stdout:\n" + (self.stdout if self.stdout else "(empty)"))
        parts.append("stderr:\n" + (self.stderr if self.stderr else "(empty)"))
        return "\n".join(parts)


def start_script(workdir: str | None = None) -> str:
    cd = f"cd {shlex.quote(workdir)}\n" if workdir else ""
    # Killing the last session makes the tmux server exit, asynchronously: a new-session that meets
    # the dying server fails with "server exited unexpectedly", so it is tried again.
    return f"""mkdir -p {WORKDIR}
{cd}tmux kill-session -t {SESSION} 2>/dev/null
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  tmux new-session -d -s {SESSION} -x 220 -y 50 'bash --noprofile --norc' 2> {WORKDIR}/tmux.err && break
  sleep 0.2
done
tmux has-session -t {SESSION} 2>/dev/null || {{ cat {WORKDIR}/tmux.err >&2; exit 1; }}
tmux send-keys -t {SESSION} 'export PAGER=cat GIT_PAGER=cat HISTFILE=/dev/null DEBIAN_FRONTEND=noninteractive PS1="$ "' Enter && tmux has-session -t {SESSION}
"""


def step_script(command: str, n: int, timeout_s: float, limit: int, separator: str, token: str = "s") -> str:
    """The bash run by the one exec of step `n` (pure: tested without a container). `token`
    names this shell's files, so a restarted shell never reads an earlier shell's results.
    Every step pays for what runs here, so it forks little: the command file is written by
    `printf` (a builtin), the wait polls with `read -t` on a FIFO (a builtin sleep), the exit
    code is read with `read`, and an empty output costs nothing."""
    half = limit // 2
    d = WORKDIR
    n = f"{token}-{n}"
    # One write of a few bytes: once rc is non-empty it is complete.
    typed = f"source {d}/cmd.{n}.sh > {d}/out.{n} 2> {d}/err.{n} < /dev/null; echo $? > {d}/rc.{n}"
    return f"""
d={d}; [ -d $d ] || mkdir -p $d; [ -p $d/tick ] || mkfifo $d/tick
printf '%s' {shlex.quote(command)} > $d/cmd.{n}.sh
tmux send-keys -t {SESSION} -l {shlex.quote(typed)} \\; send-keys -t {SESSION} Enter
end=$((SECONDS + {int(timeout_s) + 1})); state=timeout; i=0
while [ $SECONDS -lt $end ]; do
  if [ -s $d/rc.{n} ]; then state=done; break; fi
  i=$((i + 1))
  if [ $((i % 20)) -eq 0 ] && ! tmux has-session -t {SESSION} 2>/dev/null; then state=died; break; fi
  if [ $i -lt 200 ]; then read -t 0.005 <> $d/tick; else read -t 0.05 <> $d/tick; fi
done
if [ $state = timeout ]; then
  tmux send-keys -t {SESSION} C-c; sleep 0.5
  pp=$(tmux display -p -t {SESSION} '#{{pane_pid}}' 2>/dev/null)
  fg=$(ps -o tpgid= -p "$pp" 2>/dev/null | tr -d ' ')
  if [ -n "$fg" ] && [ "$fg" != "$pp" ] && [ "$fg" != "-1" ]; then kill -KILL -- -"$fg" 2>/dev/null; sleep 0.2; fi
fi
emit() {{
  [ -s "$1" ] || return 0
  s=$(wc -c < "$1")
  if [ "$s" -le {limit} ]; then cat "$1"; else head -c {half} "$1"; printf '\\n[... %d bytes omitted ...]\\n' $((s - {2 * half})); tail -c {half} "$1"; fi
}}
rc=; [ -s $d/rc.{n} ] && read -r rc < $d/rc.{n}
printf '%s %s\\n' "$state" "$rc"
printf '%s\\n' {separator}; emit $d/out.{n}; printf '\\n%s\\n' {separator}; emit $d/err.{n}
"""


def parse_step_output(raw: str, separator: str, command: str, timeout_s: float) -> ShellResult:
    head, _, rest = raw.partition(f"\n{separator}\n")
    stdout, _, stderr = rest.partition(f"\n{separator}\n")
    state_line = head.strip().splitlines()[-1] if head.strip() else "died"
    state, _, code = state_line.partition(" ")
    if state not in ("done", "timeout", "died"):
        raise ShellError(f"unexpected reply from the shell: {raw[:500]!r}")
    return ShellResult(
        command=command,
        state=state,  # type: ignore[arg-type]
        exit_code=int(code) if code.strip().lstrip("-").isdigit() else None,
        stdout=stdout.rstrip("\n") if stdout.strip() else "",
        stderr=stderr.rstrip("\n") if stderr.strip() else "",
        timeout_s=timeout_s,
    )


class PersistentShell:
    def __init__(self, environment: BaseEnvironment, output_limit: int = 10_000):
        self.environment = environment
        self.output_limit = output_limit
        self.workdir: str | None = None
        self.n = 0
        self.token = secrets.token_hex(4)
        self.container: tuple[str, str] | None = None  # (container, user) for direct `docker exec`

    async def _exec(self, script: str, timeout_s: float) -> str:
        if self.container:
            return await self._docker_exec(script, timeout_s)
        result = await self.environment.exec(script, timeout_sec=int(timeout_s))
        return (result.stdout or "") + ("" if result.return_code == 0 else (result.stderr or ""))

    async def _docker_exec(self, script: str, timeout_s: float) -> str:
        container, user = self.container
        proc = await asyncio.create_subprocess_exec("docker", "exec", "-u", user, container, "bash", "-c", script,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)  # fmt: skip
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise ShellError(f"the container did not answer within {timeout_s:g} s") from None
        return out.decode(errors="replace") + ("" if proc.returncode == 0 else err.decode(errors="replace"))

    async def _find_container(self) -> tuple[str, str] | None:
        """On Harbor's local Docker environment: the main container and the user Harbor runs
        commands as, so that each step is one `docker exec` rather than a `docker compose exec`
        (which loads the compose project every time). Found by a token written through Harbor's
        own exec and read back; anything else (another environment, podman, a container that sets
        its hostname) keeps Harbor's exec."""
        if not isinstance(self.environment, DockerEnvironment) or shutil.which("docker") is None:
            return None
        token = secrets.token_hex(8)
        probe = await self.environment.exec(f"mkdir -p {WORKDIR} && echo {token} > {WORKDIR}/id && hostname && id -u", timeout_sec=60)
        lines = (probe.stdout or "").split()
        if probe.return_code != 0 or len(lines) != 2:
            return None
        found = (lines[0], lines[1])
        self.container = found
        try:
            answer = await self._docker_exec(f"cat {WORKDIR}/id", 30)
        except ShellError:
            answer = ""
        self.container = None
        return found if answer.strip() == token else None

    async def start(self) -> None:
        probe = await self.environment.exec("pwd; command -v tmux || echo NO-TMUX", timeout_sec=60)
        lines = (probe.stdout or "").strip().splitlines()
        self.workdir = lines[0] if lines else None
        if "NO-TMUX" in lines:
            install = await self.environment.exec(
                "(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux procps) >/dev/null 2>&1 "
                "|| (apk add --no-cache tmux procps) >/dev/null 2>&1 || (yum install -y tmux procps-ng) >/dev/null 2>&1; command -v tmux",
                timeout_sec=300,
            )
            if install.return_code != 0:
                raise ShellError("the container has no tmux and it could not be installed: the agent needs it for a persistent shell")
        self.token = secrets.token_hex(4)
        if self.container is None:
            self.container = await self._find_container()
        started = await self.environment.exec(start_script(self.workdir), timeout_sec=60)
        if started.return_code != 0:
            raise ShellError(f"could not start the shell: {(started.stderr or started.stdout or '').strip()[:500]}")

    async def run(self, command: str, timeout_s: float) -> ShellResult:
        self.n += 1
        separator = f"=====TERMIGEN-{secrets.token_hex(8)}====="
        script = step_script(command, self.n, timeout_s, self.output_limit, separator, self.token)
        raw = await self._exec(script, timeout_s + 30)
        result = parse_step_output(raw, separator, command, timeout_s)
        if result.state == "died":
            await self.start()
        return result
