"""Numbers within an initiative, given by several writers at once (replicas, or threads of one)."""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.models import Idea
from storage.numbering import next_number
from tests.support.factories import make_initiative
from tests.support.workspace import ALICE, NOW

WRITERS = 8


def test_writers_numbering_in_one_initiative_at_once_take_turns_and_never_collide(engine: Engine) -> None:
    with Session(engine) as setup:
        initiative_id = make_initiative(setup).id or 0
        setup.commit()
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with Session(engine) as session:
                start.wait(10)
                number = next_number(session=session, model=Idea, initiative_id=initiative_id)
                session.add(
                    Idea(initiative_id=initiative_id, number=number, text=f"idea {n}", author_id=ALICE, created_at=NOW)
                )
                session.commit()
        except BaseException as error:
            failures.append(error)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(30)

    assert failures == []
    with Session(engine) as check:
        numbers = sorted(check.exec(select(Idea.number).where(Idea.initiative_id == initiative_id)).all())
    assert numbers == list(range(1, WRITERS + 1))
