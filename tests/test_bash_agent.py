"""The BashAgent with the scripted backend, in a real container (the engine is required)."""

from __future__ import annotations

import json

import pytest
from harbor.models.agent.context import AgentContext
from harbor.models.trajectories import Trajectory

from termigen_harbor.agents import BashAgent
from termigen_harbor.agents.injection import ErrorCategory, Intent, IntentSampler, trial_seed
from termigen_harbor.agents.shell import start_script
from termigen_harbor.agents.trajectory import recovery_problems
from termigen_harbor.llm import LLM, ChatRequest, ScriptedBackend

from container import Container

pytestmark = pytest.mark.docker
HIDDEN = "[Data generation instruction"
CRITIC = "You review one step"


def bash(command: str, reasoning: str = "Next I will run this.") -> str:
    return f"{reasoning}\n\n```bash\n{command}\n```"


DONE = bash("echo TASK_COMPLETE", "Everything is checked.")


@pytest.fixture(scope="module")
def container(docker_engine):
    c = Container()
    yield c
    c.remove()


async def run_agent(container, replies, tmp_path, instruction="Do the task.", critic_replies=None, **options):
    backend = ScriptedBackend(replies)
    agent = BashAgent(logs_dir=tmp_path, llm=LLM(backend), **options)
    context = AgentContext()
    await agent.setup(container)
    await agent.run(instruction, container, context)
    trajectory = Trajectory.model_validate_json((tmp_path / "trajectory.json").read_text())
    return agent, backend.requests, trajectory, context


def observations(trajectory: Trajectory) -> list[str]:
    return [s.observation.results[0].content for s in trajectory.steps if s.source == "agent" and s.observation]


async def test_cwd_variables_and_background_processes_persist(container, tmp_path):
    replies = [
        bash("mkdir -p /srv/work && cd /srv/work && export GREETING=hello"),
        bash("pwd; echo $GREETING"),
        bash("nohup python3 -m http.server 8765 > /tmp/http.log 2>&1 &"),
        bash("sleep 1; curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8765/"),
        DONE,
    ]
    agent, _, trajectory, context = await run_agent(container, replies, tmp_path)
    obs = observations(trajectory)
    assert "/srv/work" in obs[1] and "hello" in obs[1]
    assert obs[3].startswith("exit code: 0") and "200" in obs[3]
    assert agent.rollout.stop_reason == "complete" and context.metadata["steps"] == 5


async def test_exit_code_and_stderr_reach_the_model(container, tmp_path):
    _, requests, trajectory, _ = await run_agent(container, [bash("ls /does-not-exist"), DONE], tmp_path)
    seen = requests[1].messages[-1].content
    assert seen.startswith("exit code: 2") and "No such file or directory" in seen and "stderr:" in seen
    step = trajectory.steps[2]
    assert step.tool_calls[0].arguments == {"command": "ls /does-not-exist"}
    assert step.observation.results[0].source_call_id == step.tool_calls[0].tool_call_id
    assert step.extra["exit_code"] == 2


async def test_a_timeout_is_reported_and_the_run_continues(container, tmp_path):
    replies = [bash("echo started; sleep 60"), bash("echo still-alive"), DONE]
    agent, _, trajectory, _ = await run_agent(container, replies, tmp_path, command_timeout_sec=2)
    obs = observations(trajectory)
    assert "did not finish within 2 s" in obs[0] and "started" in obs[0]
    assert obs[1].startswith("exit code: 0") and "still-alive" in obs[1]
    assert trajectory.steps[2].extra["timed_out"] is True


async def test_long_output_keeps_head_and_tail(container, tmp_path):
    _, _, trajectory, _ = await run_agent(container, [bash("seq 1 100000"), DONE], tmp_path, output_limit=1000)
    out = observations(trajectory)[0]
    assert out.splitlines()[2] == "1" and "100000" in out and "bytes omitted" in out and len(out) < 1400


async def test_a_malformed_reply_gets_format_feedback_and_too_many_stop_the_run(container, tmp_path):
    replies = ["I would list the files now.", bash("echo ok"), "Next:\n```bash\necho a\nexit code: 0", "no command", "still none"]
    agent, requests, trajectory, _ = await run_agent(container, replies, tmp_path, max_format_errors=3)
    assert "has no command" in requests[1].messages[-1].content
    assert "not closed" in requests[3].messages[-1].content
    assert agent.rollout.stop_reason == "format_errors"
    assert [s.extra.get("format_error", False) for s in trajectory.steps if s.source == "agent"] == [True, False, True, True, True]


async def test_output_the_model_invents_after_its_command_is_not_kept(container, tmp_path):
    replies = [bash("echo real") + "\nexit code: 0\nstdout:\ninvented\n```bash\necho second\n```", DONE]
    agent, _, trajectory, _ = await run_agent(container, replies, tmp_path)
    step = [s for s in trajectory.steps if s.source == "agent"][0]
    assert step.message.endswith("```bash\necho real\n```") and "invented" not in step.message
    assert step.extra["dropped_chars"] > 0 and "real" in step.observation.results[0].content
    assert all("invented" not in m.content for m in agent.rollout.history)


async def test_the_exit_command_does_not_break_the_agent(container, tmp_path):
    _, _, trajectory, _ = await run_agent(container, [bash("exit 3"), bash("echo back"), DONE], tmp_path)
    obs = observations(trajectory)
    assert "shell exited" in obs[0] and "back" in obs[1]


async def test_the_shell_restarts_reliably_on_a_busy_machine(docker_engine):
    """Killing the last tmux session makes its server exit asynchronously; starting the next shell
    must not fail when it meets the dying server (it did about once in 50 restarts under load)."""
    busy = Container()
    try:
        await busy.exec("for j in 1 2 3 4 5 6; do (yes > /dev/null &); done")  # keep the CPUs busy, as CI does
        script = start_script("/tmp")
        result = await busy.exec(f"fails=0; for i in $(seq 150); do ( {script} ) > /dev/null 2> /tmp/err || {{ fails=$((fails + 1)); cat /tmp/err; }}; done; echo fails=$fails", timeout_sec=600)
        assert result.stdout.strip().endswith("fails=0"), result.stdout[-1000:]
    finally:
        busy.remove()


def test_the_realized_injection_rate_is_within_tolerance_of_p():
    for p in (0.2, 0.5):
        sampler = IntentSampler(p, seed=1234)
        intents = [sampler.sample() for _ in range(5000)]
        rate = sum(i.error for i in intents) / len(intents)
        assert abs(rate - p) < 0.02, (p, rate)  # 3.5 standard deviations at n = 5000
        assert {i.category for i in intents if i.error} == set(ErrorCategory)


def test_seeded_sampling_is_reproducible_and_errors_can_follow_errors():
    a, b = IntentSampler(0.5, seed=7), IntentSampler(0.5, seed=7)
    seq_a, seq_b = [a.sample() for _ in range(200)], [b.sample() for _ in range(200)]
    assert seq_a == seq_b
    assert any(x.error and y.error for x, y in zip(seq_a, seq_a[1:]))


def test_an_owed_mistake_takes_the_next_correct_draw_and_owing_never_changes_the_draws():
    plain, owing = IntentSampler(0.2, seed=11), IntentSampler(0.2, seed=11)
    draws = [plain.sample() for _ in range(300)]
    owing.owe(ErrorCategory.HALLUCINATION)
    got = [owing.sample(may_owe=i > 0) for i in range(300)]  # the first step repairs something: nothing owed is taken there
    first_correct = next(i for i, d in enumerate(draws) if not d.error and i > 0)
    assert got[first_correct] == Intent(error=True, category=ErrorCategory.HALLUCINATION, owed=True)
    assert [g for i, g in enumerate(got) if i != first_correct] == [d for i, d in enumerate(draws) if i != first_correct]
    capped = IntentSampler(0.0, seed=1)
    for category in ErrorCategory:  # five owed, at most three kept: the oldest go
        capped.owe(category)
    assert [capped.sample().category for _ in range(4)] == [*list(ErrorCategory)[2:], None]


def first_seed(pattern: list[bool], rate: float, logs_dir) -> int:
    """A --seed whose trial (the agent logs into `logs_dir`) first draws errors exactly where `pattern` says."""
    for seed in range(10_000):
        sampler = IntentSampler(rate, trial_seed(seed, logs_dir.resolve().parent.name))
        if [sampler.sample().error for _ in pattern] == pattern:
            return seed
    raise AssertionError("no seed found")


class Script:
    """Replies as a function of the request: generator steps, then critic verdicts, in order."""

    def __init__(self, steps: list[str], verdicts: list[bool | str]):
        self.steps, self.verdicts = list(steps), list(verdicts)

    def __call__(self, request: ChatRequest) -> str:
        text = request.messages[-1].content
        if CRITIC in text:
            verdict = self.verdicts.pop(0)
            reasons = "" if verdict is True else verdict  # fields of both verdicts: a mistake's and a correct step's checklist
            return json.dumps({"accept": verdict is True, "reasons": reasons, "command_does": "runs it", "unrelated": verdict is not True,
                               "contradicts_reasoning": False, "damages_task": False, "ignores_failure": False})  # fmt: skip
        return self.steps.pop(0)


async def test_a_rejected_step_is_regenerated_a_visible_mistake_is_repaired_and_the_history_stays_clean(container, tmp_path):
    seed = first_seed([True, False, False], rate=0.5, logs_dir=tmp_path)
    script = Script(
        steps=[
            bash("rm -rf /", "I will clean up."),  # destructive: refused before the Critic is asked
            bash("cat /etc/hostnme", "The hostname is in /etc/hostnme."),  # accepted mistake
            bash("cat /etc/hostname", 'The output "cat: /etc/hostnme: No such file or directory" shows a typo: the file is /etc/hostname.'),
            DONE,
        ],
        verdicts=[True, True, True],
    )
    agent, requests, trajectory, context = await run_agent(container, script, tmp_path, injection_rate=0.5, seed=seed)
    generator = [r for r in requests if CRITIC not in r.messages[-1].content]
    assert "destructive outside the task" in generator[1].messages[-1].content  # regeneration with the reason
    assert "Your previous step went wrong" in generator[2].messages[-1].content  # recovery instruction, pointing at the telling line
    assert "this line: `cat: /etc/hostnme: No such file or directory`" in generator[2].messages[-1].content
    step1, step2 = [s for s in trajectory.steps if s.source == "agent"][:2]
    assert step1.extra["intent"] == "error" and step1.extra["regenerations"] == 1
    assert "removes the root" in step1.extra["critic_reasons"][0] and step1.extra["feedback_observed"] is True
    assert step2.extra["recovery"] is True and step2.extra["repaired"] is True
    assert step2.extra["evidence"] == "cat: /etc/hostnme: No such file or directory"
    assert context.metadata["recoveries"] == 1 and context.metadata["n_injected_errors"] == 1
    stats = context.metadata["injection"]
    assert stats["steps"] == 3 and stats["realized_rate"] == round(1 / 3, 4) and stats["critic_acceptance_rate"] == 1.0
    assert recovery_problems(trajectory) == []
    # What the student sees holds the mistake and its output, never the hidden prompts.
    for message in agent.rollout.history:
        assert HIDDEN not in message.content and CRITIC not in message.content and "destructive" not in message.content
    assert "rm -rf /" not in json.dumps([s.model_dump() for s in trajectory.steps if s.source == "agent"][0]["message"])
    assert "No such file" in observations(trajectory)[0]


async def test_a_mistake_with_no_visible_output_is_silent_and_the_next_step_is_an_ordinary_one(container, tmp_path):
    seed = first_seed([True, False], rate=0.5, logs_dir=tmp_path)
    script = Script(steps=[bash("echo 42 > /tmp/answer.txt", "The answer file goes in /tmp."), bash("echo next"), DONE], verdicts=[True, True, True])
    _, requests, trajectory, context = await run_agent(container, script, tmp_path, injection_rate=0.5, seed=seed, max_steps=2)
    generator = [r for r in requests if CRITIC not in r.messages[-1].content]
    assert all("Your previous step went wrong" not in r.messages[-1].content for r in generator)
    step1, step2 = [s for s in trajectory.steps if s.source == "agent"][:2]
    assert step1.extra["silent"] is True and step1.extra["feedback_observed"] is False and step2.extra["recovery"] is False
    assert context.metadata["injection"]["silent"] == {step1.extra["category"]: 1} and context.metadata["recoveries"] == 0


async def test_a_mistake_that_only_exits_non_zero_is_silent_for_it_leaves_nothing_to_quote(container, tmp_path):
    seed = first_seed([True, False], rate=0.5, logs_dir=tmp_path)
    script = Script(steps=[bash("grep -q nginx /etc/hostname", "The hostname should name the web server."), bash("echo next"), DONE], verdicts=[True, True, True])
    _, requests, trajectory, context = await run_agent(container, script, tmp_path, injection_rate=0.5, seed=seed, max_steps=2)
    step1, step2 = [s for s in trajectory.steps if s.source == "agent"][:2]
    assert step1.extra["exit_code"] == 1 and step1.extra["feedback_observed"] is False and step1.extra["silent"] is True
    assert step2.extra["recovery"] is False and all("Your previous step went wrong" not in r.messages[-1].content for r in requests)


async def test_a_repair_no_attempt_of_passes_leaves_the_mistake_unrepaired_and_an_ordinary_step_goes_on(container, tmp_path):
    seed = first_seed([True, False, False], rate=0.4, logs_dir=tmp_path)
    script = Script(
        steps=[
            bash("cat /etc/hostnme", "The hostname is in /etc/hostnme."),
            bash("cat /etc/hostname", 'It said "No such file or directory" for /etc/hostnme: the file is /etc/hostname.'),  # rejected twice by the Critic
            bash("cat /etc/hostname", 'Again: "No such file or directory". The right name is /etc/hostname.'),
            bash("ls /etc", "I list /etc to see what is configured."),  # the ordinary step that replaces the repair
            bash("echo third"),
        ],
        verdicts=[True, "it does not repair it", "still not", True, True],
    )
    agent, requests, trajectory, context = await run_agent(container, script, tmp_path, injection_rate=0.4, seed=seed, max_steps=3, max_regenerations=1)
    mistake, ordinary, third = [s for s in trajectory.steps if s.source == "agent"]
    assert mistake.extra["intent"] == "error" and mistake.extra["feedback_observed"] is True
    assert ordinary.extra["recovery"] is False and ordinary.extra["repair_abandoned"] is True and ordinary.tool_calls[0].arguments["command"] == "ls /etc"
    assert len(ordinary.extra["abandoned_reasons"]) == 2 and "it does not repair it" in ordinary.extra["abandoned_reasons"][0]
    generator = [r for r in requests if CRITIC not in r.messages[-1].content]
    assert "Your previous step went wrong" not in generator[3].messages[-1].content  # asked as an ordinary step
    assert third.extra["recovery"] is False and agent.rollout.stop_reason == "max_steps"
    stats = context.metadata["injection"]
    assert stats["repairs_abandoned"] == 1 and stats["recoveries"] == 0 and stats["recovery_steps"] == 0
    assert recovery_problems(trajectory) == []


async def test_a_recovery_must_quote_the_output_and_counts_only_when_its_command_succeeds(container, tmp_path):
    seed = first_seed([True, False, False], rate=0.4, logs_dir=tmp_path)
    script = Script(
        steps=[
            bash("cat /etc/hostnme", "The hostname is in /etc/hostnme."),
            bash("cat /etc/hostname", "Let me try again."),  # quotes nothing: sent back before the Critic
            bash("cat /etc/hostnam", 'It said "No such file or directory" for /etc/hostnme; maybe /etc/hostnam.'),  # fails: not a recovery
            bash("cat /etc/hostname", 'Again "No such file or directory": the right name is /etc/hostname.'),
        ],
        verdicts=[True, True, True],
    )
    _, requests, trajectory, context = await run_agent(container, script, tmp_path, injection_rate=0.4, seed=seed, max_steps=3)
    generator = [r for r in requests if CRITIC not in r.messages[-1].content]
    assert "quotes nothing from the previous step's output" in generator[2].messages[-1].content
    _, attempt, repair = [s for s in trajectory.steps if s.source == "agent"]
    assert attempt.extra["recovery"] and attempt.extra["repaired"] is False and attempt.extra["exit_code"] == 1
    assert repair.extra["recovery"] and repair.extra["repaired"] is True
    assert context.metadata["injection"]["recovery_steps"] == 2 and context.metadata["recoveries"] == 1
    assert recovery_problems(trajectory) == []


async def test_a_critic_that_answers_garbage_lets_no_step_run(container, tmp_path):
    def reply(request: ChatRequest) -> str:
        return "}}} not a verdict" if CRITIC in request.messages[-1].content else bash("touch /tmp/ran-unvalidated")

    agent, requests, trajectory, context = await run_agent(container, reply, tmp_path, injection_rate=0.3, seed=3, max_regenerations=2)
    assert agent.rollout.stop_reason == "critic_rejected" and not [s for s in trajectory.steps if s.source == "agent"]
    assert (await container.exec("test -e /tmp/ran-unvalidated; echo $?")).stdout.strip() == "1"
    stats = context.metadata["injection"]
    assert stats["critic_unparsable"] >= 3 and stats["critic_accepted"] == 0 and stats["critic_acceptance_rate"] == 0.0
    assert context.metadata["rejected_step"]["reasons"][0] == "the Critic's verdict could not be read"


async def test_a_step_that_gives_the_game_away_is_regenerated_even_when_it_is_a_correct_one(container, tmp_path):
    seed = first_seed([False], rate=0.5, logs_dir=tmp_path)
    script = Script(steps=[bash("ls /", "Following the reviewer's hint, I list the root."), bash("ls /", "First I look at the root."), DONE], verdicts=[True, True])
    agent, requests, trajectory, _ = await run_agent(container, script, tmp_path, injection_rate=0.5, seed=seed, max_steps=1)
    step = [s for s in trajectory.steps if s.source == "agent"][0]
    assert step.extra["regenerations"] == 1 and '(hint, reviewer: "hint", "reviewer")' in step.extra["critic_reasons"][0]
    assert all("reviewer" not in m.content for m in agent.rollout.history)


async def test_a_reply_that_repeats_the_hidden_notes_words_is_regenerated_and_never_reaches_the_history(container, tmp_path):
    # as the 0.5B model wrote them in a real run: a mistake whose reasoning is the note's requirement, a recovery that
    # repeats the note's instruction (with a real quote in it), a format slip that names the reviewer
    seed = first_seed([True, False, False, False], rate=0.4, logs_dir=tmp_path)
    script = Script(
        steps=[
            bash("cat /etc/hostnme", "This is specific to the task and the current state (not random noise, not sabotage)."),
            bash("cat /etc/hostnme", "The hostname is in /etc/hostnme."),
            bash("cat /etc/hostname", "First diagnose what went wrong from its actual output: quote the telling part of that output exactly as it "
                 "was printed: cat: /etc/hostnme: No such file or directory"),  # fmt: skip
            bash("cat /etc/hostname", "It printed cat: /etc/hostnme: No such file or directory, a typo: the file is /etc/hostname."),
            "As the reviewer said, I list the files.\n```bash\nls /",  # unclosed block, and a leak: regenerated, not recorded
            DONE,
        ],
        verdicts=[True, True, True],
    )
    agent, requests, trajectory, _ = await run_agent(container, script, tmp_path, injection_rate=0.4, seed=seed, max_steps=3)
    mistake, repair, done = [s for s in trajectory.steps if s.source == "agent"]
    assert mistake.extra["regenerations"] == 1 and "repeats this note's words" in mistake.extra["critic_reasons"][0]
    assert repair.extra["regenerations"] == 1 and "repeats this note's words" in repair.extra["critic_reasons"][0] and repair.extra["repaired"]
    assert done.extra.get("complete") and done.extra["regenerations"] == 1 and '(reviewer: "reviewer")' in done.extra["critic_reasons"][0]
    student = "\n".join(m.content for m in agent.rollout.history)
    assert "not random noise" not in student and "diagnose what went wrong" not in student and "reviewer" not in student


async def test_a_mistake_that_admits_being_deliberate_is_regenerated_without_asking_the_critic(container, tmp_path):
    seed = first_seed([True], rate=1.0, logs_dir=tmp_path)
    script = Script(steps=[bash("ls /nope", "I will deliberately inject an error here."), bash("ls /nope", "The data should be in /nope."), DONE], verdicts=[True, True])
    agent, requests, trajectory, _ = await run_agent(container, script, tmp_path, injection_rate=1.0, seed=seed, max_steps=1)
    step = [s for s in trajectory.steps if s.source == "agent"][0]
    assert step.extra["regenerations"] == 1 and '(deliberate, inject: "deliberately", "inject")' in step.extra["critic_reasons"][0]
    assert sum(CRITIC in r.messages[-1].content for r in requests) == 1


async def test_with_checks_only_review_a_mistake_and_its_repair_run_without_a_critic_verdict_but_the_checks_still_apply(container, tmp_path):
    seed = first_seed([True, False], rate=0.5, logs_dir=tmp_path)
    pasted = "ls: cannot access '/srv/dataz': No such file or directory"
    script = Script(
        steps=[bash("ls /nope", "I will deliberately inject an error here."),  # a leak: sent back by the checks
               bash("ls /srv/dataz", "The data should be in /srv/dataz."),  # runs with no verdict asked
               bash(f"{pasted}\nls /srv", f'It said "{pasted}".'),  # as the 1.5B did: the quoted line in the bash block
               bash("ls /srv", 'It said "No such file or directory" for /srv/dataz; I list /srv to find the right name.')],
        verdicts=[],  # no step asks the Critic
    )  # fmt: skip
    _, requests, trajectory, context = await run_agent(container, script, tmp_path, injection_rate=0.5, seed=seed, max_steps=2, mistake_review="checks")
    mistake, repair = [s for s in trajectory.steps if s.source == "agent"]
    assert mistake.extra["intent"] == "error" and mistake.extra["critic"] == "checks" and mistake.extra["regenerations"] == 1
    assert '(deliberate, inject: "deliberately", "inject")' in mistake.extra["critic_reasons"][0] and mistake.extra["feedback_observed"] is True
    assert repair.extra["recovery"] is True and repair.extra["critic"] == "checks" and repair.extra["repaired"] is True
    assert repair.extra["critic_reasons"] == [f"the command holds a line of the previous output, which is no command (`{pasted}`): quote output "
                                              "in the reasoning; the bash block holds only the commands that repair the mistake"]  # fmt: skip
    assert not any(CRITIC in r.messages[-1].content for r in requests)
    stats = context.metadata["injection"]
    assert stats["checks_only"] == 2 and stats["critic_accepted"] == 0 and stats["n_injected"] == 1 and stats["recoveries"] == 1


async def test_with_checks_only_review_a_repair_whose_command_fails_is_no_recovery_and_rerunning_the_mistake_is_sent_back(container, tmp_path):
    seed = first_seed([True, False, False], rate=0.3, logs_dir=tmp_path)
    script = Script(
        steps=[bash("cat /etc/hostnme", "The name is in /etc/hostnme."),
               bash("cat /etc/hostnam", 'It said "No such file or directory"; the file must be /etc/hostnam.'),  # runs, fails: not repaired
               bash("cat /etc/hostnme", 'It said "No such file or directory" again; I read the first path once more.'),  # the mistake again
               bash("cat /etc/hostname", 'It said "No such file or directory": the file is /etc/hostname.')],
        verdicts=[],
    )  # fmt: skip
    _, _, trajectory, context = await run_agent(container, script, tmp_path, injection_rate=0.3, seed=seed, max_steps=3, mistake_review="checks")
    _, failed, repair = [s for s in trajectory.steps if s.source == "agent"]
    assert failed.extra["critic"] == "checks" and failed.extra["repaired"] is False and failed.extra["exit_code"] == 1
    assert repair.extra["critic_reasons"] == ["the command is the one that failed, unchanged: change what made it fail"]
    assert repair.extra["repaired"] is True and context.metadata["injection"]["recovery_steps"] == 2 and context.metadata["recoveries"] == 1


def test_mistakes_are_left_to_the_checks_when_the_critic_is_the_local_model(tmp_path):
    local, api = LLM(ScriptedBackend([], model="local")), LLM(ScriptedBackend([], model="anthropic/claude-sonnet-4-6"))
    agent = BashAgent(logs_dir=tmp_path, llm=api, injection_rate=0.2)
    assert agent.rollout_options(api, critic=local).mistake_review == "checks"  # its verdicts on mistakes are at chance
    assert agent.rollout_options(local, critic=api).mistake_review == "llm"
    assert BashAgent(logs_dir=tmp_path, llm=local, mistake_review="llm").rollout_options(local, critic=local).mistake_review == "llm"


async def test_a_mistake_whose_giveaway_is_one_line_runs_without_that_line(container, tmp_path):
    # as the 1.5B wrote them with checks-only review: a usable mistake, narrated in one line and one comment
    seed = first_seed([True], rate=1.0, logs_dir=tmp_path)
    reply = ("The task's data should be under /srv/data, where services keep their files.\n"
             "1. **Realistic Hallucination**: I am assuming the folder exists.\n\n"
             "```bash\n# this will fail with an error\nls /srv/data\n```")  # fmt: skip
    agent, requests, trajectory, context = await run_agent(container, Script(steps=[reply], verdicts=[]), tmp_path, injection_rate=1.0, seed=seed,
                                                           max_steps=1, mistake_review="checks")  # fmt: skip
    [step] = [s for s in trajectory.steps if s.source == "agent"]
    assert step.extra["intent"] == "error" and step.extra["regenerations"] == 0 and len(requests) == 1
    assert step.extra["left_out"] == ["1. **Realistic Hallucination**: I am assuming the folder exists.", "# this will fail with an error"]
    assert step.message == "The task's data should be under /srv/data, where services keep their files.\n\n```bash\nls /srv/data\n```"
    assert "Hallucination" not in agent.rollout.history[2].content and "No such file or directory" in agent.rollout.history[3].content


async def test_a_command_that_is_only_comments_or_the_previous_one_again_goes_back_before_the_critic(container, tmp_path):
    # as the 1.5B wrote them in a real run: a "mistake" that was a comment, and one check repeated ten steps running
    seed = first_seed([False, False, True], rate=0.3, logs_dir=tmp_path)
    check = bash("cat /etc/hostname", "I read the hostname the service will use.")
    script = Script(
        steps=[check, check.replace("I read", "Again I read"), bash("ls /etc", "The hostname is known; I look at the configuration."),
               bash("# Move on without checking the hostname.", "The configuration is in place."), bash("cat /etc/hostnme", "The name is in /etc/hostnme.")],
        verdicts=[True, True],
    )  # fmt: skip
    _, requests, trajectory, _ = await run_agent(container, script, tmp_path, injection_rate=0.3, seed=seed, max_steps=3, mistake_review="checks")
    first, second, third = [s for s in trajectory.steps if s.source == "agent"]
    assert second.tool_calls[0].arguments["command"] == "ls /etc" and "the previous step's, unchanged" in second.extra["critic_reasons"][0]
    assert third.extra["intent"] == "error" and third.tool_calls[0].arguments["command"] == "cat /etc/hostnme"
    assert "only comments, so it does nothing" in third.extra["critic_reasons"][0]
    assert sum(CRITIC in r.messages[-1].content for r in requests) == 2  # neither was put to the Critic


async def test_a_mistake_the_critic_never_accepts_is_abandoned_for_a_validated_correct_step(container, tmp_path):
    seed = first_seed([True], rate=1.0, logs_dir=tmp_path)
    script = Script(steps=[bash("ls /a"), bash("ls /b"), bash("echo plain-step")], verdicts=["implausible", "still implausible", True])
    agent, requests, trajectory, context = await run_agent(container, script, tmp_path, injection_rate=1.0, seed=seed, max_steps=1, max_regenerations=1)
    step = [s for s in trajectory.steps if s.source == "agent"][0]
    assert step.extra["injection_abandoned"] is True and step.extra["intent"] == "correct" and step.tool_calls[0].arguments["command"] == "echo plain-step"
    assert step.extra["critic"] == "accept" and step.extra["abandoned_reasons"] == ["implausible", "still implausible"]
    assert sum(CRITIC in r.messages[-1].content for r in requests) == 3  # the plain step was checked too
    assert context.metadata["n_injected_errors"] == 0 and context.metadata["n_injections_abandoned"] == 1


async def test_an_abandoned_mistake_is_owed_and_carried_by_the_next_correct_step_so_the_realized_rate_keeps_to_p(container, tmp_path):
    seed = first_seed([True, False, False], rate=0.3, logs_dir=tmp_path)
    script = Script(
        steps=[bash("ls /a"), bash("echo plain-step"),  # step 1: the mistake is rejected, abandoned for a plain step
               bash("cat /etc/hostnme", "The hostname is in /etc/hostnme."),  # step 2 draws correct: it carries the owed mistake
               bash("cat /etc/hostname", 'It said "No such file or directory": the file is /etc/hostname.')],  # step 3: its repair
        verdicts=["implausible", True, True, True],
    )  # fmt: skip
    _, requests, trajectory, context = await run_agent(container, script, tmp_path, injection_rate=0.3, seed=seed, max_steps=3, max_regenerations=0)
    plain, owed, repair = [s for s in trajectory.steps if s.source == "agent"]
    assert plain.extra["injection_abandoned"] is True and plain.extra["intent"] == "correct"
    assert owed.extra["intent"] == "error" and owed.extra["owed"] is True and owed.tool_calls[0].arguments["command"] == "cat /etc/hostnme"
    assert owed.extra["category"] == next(iter(context.metadata["injection"]["sampled"]))  # the same kind as the one abandoned
    assert repair.extra["recovery"] is True and repair.extra["repaired"] is True
    stats = context.metadata["injection"]
    assert stats["retried"] == {owed.extra["category"]: 1} and stats["abandoned"] == {owed.extra["category"]: 1} and stats["n_injected"] == 1


async def test_an_owed_mistake_abandoned_again_is_given_up_and_the_next_correct_draw_is_a_plain_step(container, tmp_path):
    seed = first_seed([True, False, False], rate=0.3, logs_dir=tmp_path)
    script = Script(
        steps=[bash("ls /a"), bash("echo plain-1"),  # step 1: the sampled mistake is rejected, a plain step instead
               bash("ls /b"), bash("echo plain-2"),  # step 2: the owed mistake is rejected too, a plain step instead
               bash("echo plain-3")],  # step 3 draws correct: nothing is owed any more
        verdicts=["implausible", True, "implausible", True, True],
    )  # fmt: skip
    _, requests, trajectory, context = await run_agent(container, script, tmp_path, injection_rate=0.3, seed=seed, max_steps=3, max_regenerations=0)
    first, second, third = [s for s in trajectory.steps if s.source == "agent"]
    assert first.extra["injection_abandoned"] and second.extra["injection_abandoned"]
    assert third.extra["intent"] == "correct" and not third.extra["owed"] and not third.extra["injection_abandoned"]
    assert HIDDEN not in requests[-2].messages[-1].content  # step 3 was asked as an ordinary step (the last request is the Critic's)
    stats = context.metadata["injection"]
    category = next(iter(stats["sampled"]))
    assert stats["retried"] == {category: 1} and stats["abandoned"] == {category: 2} and stats["n_injected"] == 0


async def test_with_p_zero_no_hidden_or_critic_prompt_is_ever_sent(container, tmp_path):
    replies = [bash("ls /nope"), bash("echo fixed"), DONE]
    agent, requests, trajectory, context = await run_agent(container, replies, tmp_path, injection_rate=0.0)
    assert len(requests) == 3
    for request in requests:
        for message in request.messages:
            assert HIDDEN not in message.content and CRITIC not in message.content
    assert context.metadata["n_injected_errors"] == 0
    assert all(s.extra["critic"] == "skipped" for s in trajectory.steps if s.source == "agent")


async def test_a_model_failure_is_recorded_and_does_not_escape(container, tmp_path):
    from termigen_harbor.llm import FatalError

    agent, _, trajectory, context = await run_agent(container, [bash("echo one"), FatalError("401 bad key")], tmp_path)
    assert agent.rollout.stop_reason == "agent_error" and "401 bad key" in context.metadata["agent_error"]
    assert len([s for s in trajectory.steps if s.source == "agent"]) == 1 and context.n_input_tokens > 0


def test_a_misspelt_option_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="Unknown option 'injection_rat'"):
        BashAgent(logs_dir=tmp_path, injection_rat=0.2)
    with pytest.raises(ValueError, match="injection_rate"):
        BashAgent(logs_dir=tmp_path, injection_rate=1.5)


async def test_a_malformed_regeneration_of_a_rejected_step_is_a_format_error_and_nothing_unvalidated_runs(container, tmp_path):
    seed = first_seed([False, False], rate=0.5, logs_dir=tmp_path)
    script = Script(steps=[bash("touch /tmp/first-attempt"), "I refuse to run anything.", DONE], verdicts=["not useful", True])
    agent, requests, trajectory, _ = await run_agent(container, script, tmp_path, injection_rate=0.5, seed=seed, max_steps=2)
    step = [s for s in trajectory.steps if s.source == "agent"][0]
    assert step.extra.get("format_error") and step.tool_calls is None and step.extra["critic_reasons"] == ["the command has nothing to do with this task: not useful"]
    assert (await container.exec("test -e /tmp/first-attempt; echo $?")).stdout.strip() == "1"
    assert "Note for this step: the command has nothing to do with this task: not useful" in requests[2].messages[-1].content
