import json

import pytest

from termigen_harbor.agents.injection import ErrorCategory, Intent
from termigen_harbor.agents.parsing import Action, parse_action
from termigen_harbor.agents.rollout import CriticVerdict, RecoveryVerdict, Rollout, RolloutOptions, StepVerdict
from termigen_harbor.agents.shell import parse_step_output, step_script
from termigen_harbor.llm import LLM, Message
from termigen_harbor.llm.scripted import ScriptedBackend
from termigen_harbor.prompts import render


@pytest.mark.parametrize("reply, command", [
    ("I'll look.\n```bash\nls -la /app\n```", "ls -la /app"),
    ("Check:\n```sh\ncat <<'EOF' > a.txt\nx\nEOF\n```\nthen see.", "cat <<'EOF' > a.txt\nx\nEOF"),
    ("Plain fence:\n```\nmake -C /app\n```", "make -C /app"),
    ("Paper style.\n<tool_call>{cvc5 --lang smt2 /workspace/p.smt2}</tool_call>", "cvc5 --lang smt2 /workspace/p.smt2"),
    ("Brace group kept.\n<bash>{ echo a; echo b; }</bash>", "{ echo a; echo b; }"),
])  # fmt: skip
def test_commands_are_read_from_fences_and_tags(reply, command):
    action = parse_action(reply)
    assert action.command == command and not action.complete and action.problem is None
    assert action.reasoning == reply.split("```")[0].split("<")[0].strip()


@pytest.mark.parametrize("reply", ["Done.\n```bash\necho TASK_COMPLETE\n```", "All checked. TASK_COMPLETE", "```bash\necho 'TASK_COMPLETE'\n```"])
def test_completion_is_recognised(reply):
    action = parse_action(reply)
    assert action.complete and action.command is None


def test_malformed_replies_say_what_is_wrong():
    assert "no command" in parse_action("I will now list the files.").problem
    assert "not closed" in parse_action("Run it:\n```bash\nls -la\nexit code: 0").problem
    assert parse_action("```bash\n   \n```").problem is not None


def test_only_the_first_block_counts_and_invented_output_after_it_is_dropped():
    reply = "List.\n```bash\nls\n```\nexit code: 0\nstdout:\nfoo\n```bash\nrm -rf /app\n```"
    action = parse_action(reply)
    assert action.command == "ls" and action.message == "List.\n```bash\nls\n```"
    assert action.dropped_chars == len(reply.split("```bash\nls\n```", 1)[1].strip())


def test_step_output_is_split_into_state_code_stdout_and_stderr():
    sep = "=====S====="
    raw = f"done 3\n{sep}\nline1\nline2\n\n{sep}\nboom\n"
    result = parse_step_output(raw, sep, "cmd", 10)
    assert (result.state, result.exit_code, result.stdout, result.stderr) == ("done", 3, "line1\nline2", "boom")
    assert result.observation().startswith("exit code: 3\nstdout:\nline1")
    timeout = parse_step_output(f"timeout \n{sep}\npartial\n{sep}\n", sep, "cmd", 5)
    assert timeout.timed_out and timeout.exit_code is None and "within 5 s" in timeout.observation()


def test_the_step_script_carries_any_command_safely():
    import shlex
    import subprocess

    command = "echo \"it's $HOME\" `date` 'quotes' && printf '%s\\n' \\\\ "
    script = step_script(command, 4, 30, 1000, "SEP", token="ab12")
    written = subprocess.run(["bash", "-c", script.splitlines()[2].replace("> $d/cmd.ab12-4.sh", "")], capture_output=True, text=True)
    assert written.stdout == command  # the command file holds the command byte for byte
    assert "source /tmp/.termigen/cmd.ab12-4.sh" in script and "SECONDS + 31" in script
    assert "[ -s $d/rc.ab12-4 ]" in script  # only a complete exit code is read; each shell's files are its own
    assert shlex.split(script.splitlines()[3])[:4] == ["tmux", "send-keys", "-t", "termigen"]


def test_prompts_render_and_refuse_missing_variables():
    assert "120 seconds" in render("bash_agent_system", command_timeout="120")
    with pytest.raises(Exception, match="command_timeout"):
        render("bash_agent_system")


def test_old_steps_are_left_out_of_the_prompt_when_the_history_is_long():
    rollout = Rollout.__new__(Rollout)
    rollout.options = RolloutOptions(max_history_chars=2_500)
    rollout.history = [Message(role="system", content="s" * 100), Message(role="user", content="task")]
    for i in range(10):
        rollout.history += [Message(role="assistant", content=f"step {i} " + "a" * 300), Message(role="user", content="o" * 200)]
    prompt = rollout.prompt_history()
    assert sum(len(m.content) for m in prompt) <= 2_500 + 200
    assert prompt[-2].content.startswith("step 9") and "earlier steps are omitted" in prompt[1].content
    assert [m.role for m in prompt[2:]] == ["assistant", "user"] * ((len(prompt) - 2) // 2)
    # the window stays put until the history overflows again, so the prompt's beginning (the
    # server's cached prefix) is the same from one step to the next; each overflow frees room for several
    prompts = [prompt]
    for i in range(10, 30):
        rollout.history += [Message(role="assistant", content=f"step {i} " + "a" * 300), Message(role="user", content="o" * 200)]
        prompts.append(rollout.prompt_history())
    firsts = [p[2].content.split(" a")[0] for p in prompts]
    moves = [i for i in range(1, len(prompts)) if firsts[i] != firsts[i - 1]]
    assert 2 <= len(moves) <= 7 and all(b - a >= 2 for a, b in zip(moves, moves[1:]))  # at most one move every other step
    for newest, (before, after) in enumerate(zip(prompts, prompts[1:]), start=10):
        if before[2].content == after[2].content:  # unmoved: the new prompt extends the old one
            assert [m.content for m in after[: len(before)]] == [m.content for m in before]
        assert sum(len(m.content) for m in after) <= 2_500 + 200 and after[-2].content.startswith(f"step {newest} ")
    rollout.history[-2] = Message(role="assistant", content="huge " + "x" * 5_000)  # a step over the budget on its own is still shown
    assert rollout.prompt_history()[-2].content.startswith("huge")


def test_the_critic_is_shown_a_window_of_steps_that_grows_then_drops_back_so_its_prompt_keeps_its_beginning():
    rollout = Rollout.__new__(Rollout)
    rollout.history = [Message(role="system", content="s"), Message(role="user", content="task")]
    shown = []
    for i in range(12):
        rollout.history += [Message(role="assistant", content=f"step {i}"), Message(role="user", content=f"output {i}")]
        shown.append([int(line.split()[1]) for line in rollout.critic_history().splitlines() if line.startswith("step ")])
    assert [steps[0] for steps in shown] == [0, 0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8]  # the first step shown moves in jumps
    assert all(steps[-1] == i and 2 <= len(steps) <= 5 for i, steps in enumerate(shown) if i >= 1)
    assert "step 11" in rollout.critic_history() and "output 11" in rollout.critic_history()


@pytest.mark.parametrize("pattern, text", [
    ("deliberate", "I deliberately point at the wrong file."),
    ("intentional", "This typo is intentional."),
    ("on purpose", "I leave the flag out on purpose."),
    ("inject", "Here the injected error is a bad path."),
    ("hint", "Following the hint, I check the config."),
    ("reviewer", "As the reviewer asked, I quote the error."),
    ("instruction", "As instructed, I now diagnose the failure."),
    ("fake mistake", "Now I make a mistake in the column name."),
    ("announced mistake", "The mistake would be to use a relative path here."),
    ("echoed feedback", "My previous attempt was not usable because the command is incomplete."),
])  # fmt: skip
def test_every_leak_pattern_is_caught_unless_the_task_itself_uses_the_word(pattern, text):
    from termigen_harbor.agents.injection import LEAK_PATTERNS, leaked_words

    assert pattern in LEAK_PATTERNS and leaked_words(text) == [pattern]
    assert leaked_words(text, instruction=text) == []  # e.g. an SQL-injection task may say "injection"
    assert leaked_words("The error says the file is missing, so I list /app.") == []


def test_a_mistake_step_may_not_speak_of_a_mistake_but_a_repair_may():
    from termigen_harbor.agents.injection import leaked_words

    made = "The mistake in my previous command is that `invalid_command` is not a valid shell command."
    assert leaked_words(made, mistake_step=True) == ["names its mistake"]
    assert leaked_words(made) == []  # the same words diagnose a real mistake in a repair step
    assert leaked_words("I count the lines of access.log with wc.", mistake_step=True) == []


@pytest.mark.parametrize("pattern, text", [  # each as the 1.5B wrote it in a mistake step of a real run
    ("names its kind", "1. **Realistic Hallucination**: I am assuming a tool, `etl_tool`, exists here."),
    ("names its kind", "1. **Misreading the Environment's State**: the log is in /var/log/auth."),
    ("echoes the note", "2. **Running it to Produce Informative Feedback**: I run grep on the log."),
    ("expects to fail", "Since rsyslog is not installed, running it will result in an error message."),
    ("expects to fail", "It exits with a non-zero exit code if the file is absent."),
])  # fmt: skip
def test_a_mistake_step_that_names_its_kind_echoes_the_note_or_foresees_its_failure_is_caught(pattern, text):
    from termigen_harbor.agents.injection import MISTAKE_STEP_PATTERNS, leaked_words

    assert pattern in MISTAKE_STEP_PATTERNS and pattern in leaked_words(text, mistake_step=True)
    assert pattern not in leaked_words(text)  # a repair or an ordinary step may say so
    assert leaked_words("The report goes to /app/report.json; I write it with jq.", mistake_step=True) == []


@pytest.mark.parametrize("command, harmful", [
    ("rm -rf /", True), ("rm -rf /*", True), ("sudo rm -rf --no-preserve-root /", True), ("rm -rf ~", True), ("rm -rf /etc", True),
    ("mkfs.ext4 /dev/sda1", True), ("dd if=/dev/zero of=/dev/sda bs=1M", True), ("sleep 1; reboot", True), ("kill -9 -1", True),
    (":(){ :|:& };:", True), ("chmod -R 777 /", True),
    ("rm -rf /app/build", False), ("rm -rf ./dist /tmp/x", False), ("kill -9 1234", False), ("dd if=a.img of=b.img", False),
    ("chmod -R 755 /app", False), ("grep -r shutdown /var/log", False), ("sudo shutdown -h now", True),
])  # fmt: skip
def test_destructive_commands_are_refused_before_the_critic(command, harmful):
    from termigen_harbor.agents.step_checks import destructive

    assert (destructive(command) is not None) == harmful, command


def test_a_diagnosis_must_repeat_output_that_exists_and_bash_syntax_is_checked():
    from termigen_harbor.agents.step_checks import bash_syntax_problem, quoted_evidence

    observation = "exit code: 1\nstdout:\n\nstderr:\nKeyError: 'customer_id'"
    assert quoted_evidence("The traceback ends in KeyError: 'customer_id', so the column is named differently.", observation) == "KeyError: 'customer_id'"
    assert quoted_evidence("It failed with exit code: 1, so something is wrong.", observation) is None  # our own labels do not count
    assert quoted_evidence("Something about customers failed.", observation) is None
    assert "not valid bash" in bash_syntax_problem("if true; then echo") and bash_syntax_problem("echo 'a b' | wc -w") is None
    placeholder = bash_syntax_problem("git cherry-pick <commit-hash>")  # as the 1.5B wrote it
    assert placeholder.startswith("the command is not valid bash: it holds the placeholder `<commit-hash>`: put the real value")
    assert bash_syntax_problem("echo '<html>' > /srv/site/index.html") is None  # a tag in a string parses: nothing to say


def test_the_recovery_is_pointed_at_the_line_of_output_that_shows_the_mistake():
    from termigen_harbor.agents.step_checks import telling_line

    traceback = "exit code: 1\nstdout:\nloading orders.csv\nstderr:\nTraceback (most recent call last):\n  File \"etl.py\", line 3\nKeyError: 'customer_id'"
    assert telling_line(traceback) == "KeyError: 'customer_id'"
    # an error that shows only on stdout, a command that failed quietly, and one that printed nothing worth quoting
    assert telling_line("exit code: 2\nstdout:\nmake: *** [Makefile:4: all] Error 1\nstderr:\n(empty)") == "make: *** [Makefile:4: all] Error 1"
    assert telling_line("exit code: 1\nstdout:\n3 rows written to out.csv\nstderr:\n(empty)") == "3 rows written to out.csv"
    assert telling_line("exit code: 1\nstdout:\n(empty)\nstderr:\n(empty)") is None


def test_an_error_line_of_the_output_in_a_repair_command_is_a_pasted_quote_but_rewritten_file_lines_are_not():
    from termigen_harbor.agents.step_checks import pasted_output

    observation = "exit code: 2\nstdout:\nall: main.o\n\tcc -o app main.o\nstderr:\nMakefile:3: *** missing separator.  Stop.\n"
    assert pasted_output("Makefile:3: *** missing separator.  Stop.\nsed -i 's/^    /\t/' Makefile", observation, "make") == "Makefile:3: *** missing separator.  Stop."
    assert pasted_output("printf 'all: main.o\\n\\tcc -o app main.o\\n' > Makefile", observation, "make") is None
    assert pasted_output("cat > Makefile <<'EOF'\nall: main.o\n\tcc -o app main.o\nEOF", observation, "make") is None  # not an error line
    # a shell may echo the failing command in its error; the repair may run that command's lines again
    assert pasted_output("grep -c error_count log.txt", "exit code: 1\nstdout:\ngrep -c error_count log.txt\n", "grep -c error_count log.txt") is None


def test_injection_statistics_add_up_over_rollouts():
    from termigen_harbor.agents.injection_stats import InjectionStats

    a = InjectionStats(p=0.2, steps=10, sampled={"hallucination": 3}, injected={"hallucination": 2}, abandoned={"hallucination": 1}, critic_accepted=9, critic_rejected=3)
    b = InjectionStats(p=0.2, steps=10, sampled={"command_error": 1}, retried={"hallucination": 1}, injected={"command_error": 1}, silent={"command_error": 1},
                       critic_accepted=10, critic_unparsable=1)  # fmt: skip
    total = InjectionStats.total([a, b])
    assert total.steps == 20 and total.n_injected == 3 and total.realized_rate == 0.15 and total.p == 0.2
    assert total.realized_by_category == {"command_error": 0.05, "hallucination": 0.1}
    assert total.critic_acceptance_rate == round(19 / 23, 4)
    assert "realized injection rate 15.0% (3 of 20 steps; p = 0.2), 1 silent, 1 abandoned of 5 tried (1 of them owed retries)" in total.line()
    assert InjectionStats.model_validate(total.model_dump()) == total  # computed fields do not break a round trip


def test_a_saved_trajectory_whose_recovery_quotes_nothing_real_is_flagged():
    from harbor.models.trajectories import Agent, Observation, ObservationResult, Step, Trajectory

    from termigen_harbor.agents.trajectory import recovery_problems

    def step(i, extra, output=None, message="m"):
        observation = Observation(results=[ObservationResult(content=output)]) if output else None
        return Step(step_id=i, source="agent", message=message, observation=observation, extra=extra)

    mistake = step(1, {"intent": "error", "feedback_observed": True}, "exit code: 2\nstdout:\n\nstderr:\nls: cannot access '/data': No such file or directory")
    grounded = step(2, {"intent": "correct", "recovery": True, "repaired": True, "evidence": "cannot access '/data'"},
                    "exit code: 0", "It says \"cannot access '/data'\": the data is in /srv/data.")  # fmt: skip
    invented = step(2, {"intent": "correct", "recovery": True, "repaired": True, "evidence": "permission denied on /data"}, "exit code: 0",
                    "It says \"permission denied on /data\".")  # fmt: skip
    agent = Agent(name="bash-agent", version="1")
    assert recovery_problems(Trajectory(session_id="s", agent=agent, steps=[mistake, grounded])) == []
    problems = recovery_problems(Trajectory(session_id="s", agent=agent, steps=[mistake, invented]))
    assert len(problems) == 1 and "permission denied on /data" in problems[0]


def test_the_rollout_summary_flags_recoveries_that_quote_nothing_real_and_shows_each_category(tmp_path):
    from harbor.models.trajectories import Agent
    from rich.console import Console

    from termigen_harbor import views
    from termigen_harbor.agents.collect import summarize
    from termigen_harbor.agents.trajectory import TrajectoryRecorder
    from termigen_harbor.llm import Usage
    from termigen_harbor.runner import JobOutcome
    from termigen_harbor.testing import planted_trial

    mistake_output = "exit code: 2\nstdout:\n\nstderr:\nls: cannot access '/data': No such file or directory"
    trials = []
    for name, quote in (("grounded", "cannot access '/data'"), ("invented", "permission denied on /data")):
        trial = planted_trial(tmp_path, name, "t", 1, 1)
        recorder = TrajectoryRecorder(trial.trajectory_path, "s", Agent(name="termigen-bash-agent", version="0"))
        recorder.add_agent("List it.", "List it.", "ls /data", mistake_output, Usage(), "m", {"intent": "error", "feedback_observed": True})
        recorder.add_agent(f'It says "{quote}": look in /srv.', f'It says "{quote}": look in /srv.', "ls /srv/data", "exit code: 0", Usage(), "m",
                           {"intent": "correct", "recovery": True, "repaired": True, "evidence": quote})  # fmt: skip
        recorder.write(Usage(), {})
        trials.append(trial.model_copy(update={"durations_sec": {"agent_execution": 30.0}, "agent_metadata": {**trial.agent_metadata, "steps": 4}}))
    summary = summarize(JobOutcome(job_dir=tmp_path / "job", trials=trials))
    assert len(summary.ungrounded_recoveries) == 1 and summary.ungrounded_recoveries[0].startswith("invented step 2")
    assert summary.seconds_per_step == 60.0 / 8

    console = Console(record=True, width=200)
    views.rollouts(console, JobOutcome(job_dir=tmp_path / "job", trials=trials), summary)
    printed = console.export_text()
    assert "1 recoveries quote nothing the mistake printed" in printed and "permission denied on /data" in printed
    assert "7.5 s per step" in printed
    assert any(line.split()[:5] == ["│", "command_error", "│", "2", "│"] for line in printed.splitlines()), printed  # sampled 2 in all


async def test_a_correct_step_is_judged_by_a_checklist_whose_faults_become_the_reasons():
    """The Critic answers narrow questions about a correct step (and a recovery's diagnosis); a fault
    it finds rejects the step, and the fault goes back to the generator with the Critic's own words."""
    checklist = {"command_does": "shows a calendar", "unrelated": True, "contradicts_reasoning": False, "damages_task": False, "reasons": "look at /app/in.txt"}
    replies = [json.dumps(checklist), json.dumps(checklist | {"unrelated": False, "ignores_failure": False}), json.dumps({"accept": True, "reasons": ""})]
    backend = ScriptedBackend(replies)
    rollout = Rollout(LLM(backend), shell=None, options=RolloutOptions(injection_rate=0.2), recorder=None)
    rollout.instruction = "Count the words of /app/in.txt into /app/count.txt."
    rollout.history = [Message(role="system", content=""), Message(role="user", content=rollout.instruction)]
    action = Action(reasoning="Let me see the calendar.", command="cal")

    verdict = await rollout._critique(Intent(error=False), False, action)
    assert isinstance(verdict, StepVerdict) and not verdict.accept
    assert verdict.why() == "the command has nothing to do with this task: look at /app/in.txt"
    assert "`unrelated`" in backend.requests[0].messages[-1].content and "`ignores_failure`" not in backend.requests[0].messages[-1].content

    recovery = await rollout._critique(Intent(error=False), True, action)  # a recovery is also asked whether it diagnoses the failure
    assert isinstance(recovery, RecoveryVerdict) and recovery.accept
    assert "ignores_failure" in backend.requests[1].json_schema["required"]

    mistake = await rollout._critique(Intent(error=True, category=ErrorCategory.HALLUCINATION), False, action)
    assert isinstance(mistake, CriticVerdict) and mistake.accept
    assert set(backend.requests[2].json_schema["properties"]) == {"accept", "reasons"}


def test_each_trial_of_a_seeded_job_draws_its_own_intents(tmp_path):
    from termigen_harbor.agents import BashAgent
    from termigen_harbor.agents.injection import IntentSampler, trial_seed

    def draws(trial: str) -> list[bool]:
        agent = BashAgent(logs_dir=tmp_path / "job" / trial / "agent", llm=LLM(ScriptedBackend([])), injection_rate=0.2, seed=7)
        options = agent.rollout_options(agent._llm)
        assert options.seed == trial_seed(7, trial)  # recorded in the trial's metadata, so its draws can be replayed
        sampler = IntentSampler(options.injection_rate, options.seed)
        return [sampler.sample().error for _ in range(40)]

    first = draws("auth-log-forensics__a1b2c3d")
    assert first == draws("auth-log-forensics__a1b2c3d")  # the same trial, the same draws
    others = [draws(f"auth-log-forensics__{i}") for i in range(5)] + [draws("git-lost-commit__a1b2c3d")]
    assert all(other != first for other in others)


def test_a_giveaway_is_left_out_only_when_it_is_whole_lines_of_explanation_and_enough_is_left():
    from termigen_harbor.agents.injection import without_leaking_lines

    reply = "The records are in /app/data/records.csv and need cleaning first.\nI deliberately use the wrong column.\n```bash\ncut -d, -f9 /app/data/records.csv\n```"
    assert without_leaking_lines(reply) == (reply.replace("I deliberately use the wrong column.\n", ""), ["I deliberately use the wrong column."])
    assert without_leaking_lines("I deliberately use the wrong column.\n```bash\ncut -d, -f9 a.csv\n```") is None  # nothing left to explain it
    assert without_leaking_lines(reply.replace("cut -d, -f9", "echo injected; cut -d, -f9")) is None  # the command itself leaks
    assert without_leaking_lines(reply.replace("I deliberately use the wrong column.\n", "")) is None  # nothing to leave out
    # what was left of a real 1.5B mistake: two headings and the command, which explain nothing
    headings = "### Reasoning\nI will not make a realistic mistake of this kind.\n### Command\n```bash\nar rcs $@ stats.o parse.o\n```"
    assert without_leaking_lines(headings, mistake_step=True) is None
