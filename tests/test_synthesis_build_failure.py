"""Reading a failed build's output, and the repair made when the model sends the failed Dockerfile back unchanged."""

from termigen_harbor.synthesis.build_failure import read_failure, without_failure, without_package

# shaped as the end of the failed builds that synthesis runs saw (BuildKit's output, through Harbor's compose)
PIP_FAILED = """#7 [main 3/6] RUN pip install numpy tmux==3.3 && python3 gen.py
#7 1.204 ERROR: Could not find a version that satisfies the requirement tmux==3.3 (from versions: none)
#7 1.205 ERROR: No matching distribution found for tmux==3.3
#7 ERROR: process "/bin/sh -c pip install numpy tmux==3.3 && python3 gen.py" did not complete successfully: exit code: 1
------
 > [main 3/6] RUN pip install numpy tmux==3.3 && python3 gen.py:
1.204 ERROR: Could not find a version that satisfies the requirement tmux==3.3 (from versions: none)
1.205 ERROR: No matching distribution found for tmux==3.3
------
failed to solve: process "/bin/sh -c pip install numpy tmux==3.3 && python3 gen.py" did not complete successfully: exit code: 1
. Stderr: None. """

DOCKERFILE = """FROM termigen/base:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends \\
    jq \\
    && rm -rf /var/lib/apt/lists/*
RUN pip install numpy \\
    tmux==3.3 && python3 gen.py
COPY gen.py /app/gen.py
"""


def test_the_failed_instruction_its_output_and_the_missing_package_are_read_from_the_build_output():
    failure = read_failure(PIP_FAILED)
    assert failure.instruction == "RUN pip install numpy tmux==3.3 && python3 gen.py" and failure.exit_code == 1
    assert failure.missing_package == "tmux" and failure.output.endswith("No matching distribution found for tmux==3.3")
    summary = failure.summary()
    assert summary.startswith("The instruction `RUN pip install numpy tmux==3.3 && python3 gen.py` failed with exit code 1")
    assert "No matching distribution found for tmux==3.3" in summary and "`tmux` is no package" in summary


def test_a_pip_operand_that_is_no_requirement_is_taken_out_of_its_run():
    # run P: the 1.5B installed the base image's name with pip, three builds
    said = PIP_FAILED.replace("numpy tmux==3.3", "numpy termigen/base:bookworm").replace(
        "ERROR: Could not find a version that satisfies the requirement tmux==3.3 (from versions: none)", "ERROR: Invalid requirement: 'termigen/base:bookworm'").replace(
        "ERROR: No matching distribution found for tmux==3.3", "Hint: It looks like a path. File 'termigen/base:bookworm' does not exist.")  # fmt: skip
    failure = read_failure(said)
    assert failure.missing_package == "termigen/base:bookworm"
    dockerfile, did = without_failure("FROM termigen/base:bookworm\nRUN pip install numpy termigen/base:bookworm && python3 gen.py\n", failure)
    assert dockerfile == "FROM termigen/base:bookworm\nRUN pip install numpy && python3 gen.py\n" and "took `termigen/base:bookworm`" in did


def test_a_parse_error_is_read_and_output_without_a_failure_gives_none():
    failure = read_failure("#1 DONE 0.0s\nfailed to solve: dockerfile parse error on line 5: unknown instruction: apt-get\n. Stderr: None.")
    assert failure.instruction is None and failure.summary() == "The Dockerfile could not be read: line 5: unknown instruction: apt-get."
    assert without_failure(DOCKERFILE, failure) is None
    assert read_failure("Docker compose command failed: no space left on device") is None


def test_the_missing_package_is_taken_out_of_the_failed_run_and_the_rest_is_kept():
    repaired, did = without_failure(DOCKERFILE, read_failure(PIP_FAILED))
    assert repaired.splitlines()[4] == "RUN pip install numpy && python3 gen.py"
    assert "jq \\" in repaired and repaired.endswith("COPY gen.py /app/gen.py\n") and "tmux" not in repaired
    assert did == "took `tmux`, which the installer could not find, out of `RUN pip install numpy tmux==3.3 && python3 gen.py`"


def test_an_install_left_with_nothing_goes_and_a_failure_without_a_package_takes_the_run_out():
    only = "FROM termigen/base:bookworm\nRUN pip install --no-cache-dir tmux==3.3\nCOPY gen.py /app/gen.py\n"
    failure = read_failure(PIP_FAILED).model_copy(update={"instruction": "RUN pip install --no-cache-dir tmux==3.3"})
    assert without_failure(only, failure)[0] == "FROM termigen/base:bookworm\nCOPY gen.py /app/gen.py\n"
    # as the 1.5B wrote it: an option's value after a space is no package
    trusted = "FROM termigen/base:bookworm\nRUN pip3 install --trusted-host pypi.python.org tmux==3.3\nCOPY gen.py /app/gen.py\n"
    failure = read_failure(PIP_FAILED).model_copy(update={"instruction": "RUN pip3 install --trusted-host pypi.python.org tmux==3.3"})
    assert without_failure(trusted, failure)[0] == "FROM termigen/base:bookworm\nCOPY gen.py /app/gen.py\n"
    crashed = read_failure(PIP_FAILED).model_copy(update={"missing_package": None})
    repaired, did = without_failure(DOCKERFILE, crashed)
    assert "pip install" not in repaired and "gen.py" in repaired and did.startswith("took out `RUN pip install numpy tmux==3.3")
    elsewhere = read_failure(PIP_FAILED).model_copy(update={"instruction": "RUN make"})
    assert without_failure(DOCKERFILE, elsewhere) is None  # not an instruction of this Dockerfile: nothing to take out


def test_a_missing_package_goes_from_every_run_that_still_installs_it_however_that_run_was_rewritten():
    # as the 1.5B Environment agent wrote it in a real run: `--upgrade` and then `seaborn` dropped, `seaborn-brushable` kept through three builds
    rewritten = ("FROM termigen/base:bookworm\nRUN apt-get install --only-upgrade python3-pip && \\\n    pip install numpy pandas seaborn-brushable pillow\n"
                 "RUN pip install seaborn-brushable==0.1\nCOPY data.txt /app/data.txt\n")  # fmt: skip
    assert without_package(rewritten, "seaborn-brushable") == (
        "FROM termigen/base:bookworm\nRUN apt-get install --only-upgrade python3-pip && pip install numpy pandas pillow\nCOPY data.txt /app/data.txt\n")
    assert without_package(rewritten, "seaborn") is None  # only that package, never a name it starts with
    assert without_package("FROM termigen/base:bookworm\nRUN echo seaborn-brushable > /app/x\n", "seaborn-brushable") is None  # not an install
