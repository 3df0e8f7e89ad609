"""Never-crash: any error body a portal sends is read as one line of text, never a traceback."""

from __future__ import annotations

import json

import requests
from hypothesis import given
from hypothesis import strategies as st

from publish.portal import udata_reason, url_problem

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200)))
def test_any_error_body_gives_a_line_of_text(body: bytes) -> None:
    answer = requests.Response()
    answer.status_code, answer._content, answer.reason = 400, body, "Bad Request"
    answer.headers["Content-Type"] = "application/json"
    reason = udata_reason(answer)
    assert isinstance(reason, str) and len(reason) <= 600


@given(st.one_of(st.text(max_size=60), st.builds("http://{}".format, st.text(max_size=30))))
def test_any_url_is_judged_without_crashing(url: str) -> None:
    assert url_problem(url) is None or isinstance(url_problem(url), str)
