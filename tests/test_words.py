from fieldvisit.words import check_name, distance_text, flags_text


def test_flags_read_as_words() -> None:
    assert flags_text(["too_far_from_address", "late_submission"]) == (
        "far from the address; sent late (captured offline)"
    )
    assert flags_text([]) == "—"
    assert flags_text(["something_new"]) == "something new"


def test_distances_round_as_people_say_them() -> None:
    assert [distance_text(m) for m in (None, 0.4, 85.2, 999.4, 1234, 9950, 57_321)] == [
        "—", "0 m", "85 m", "999 m", "1.2 km", "9.9 km", "57 km",
    ]  # fmt: skip


def test_checks_have_names() -> None:
    assert check_name("checkins_on_time") == "Check-ins on time"
    assert check_name("brand_new") == "Brand new"
