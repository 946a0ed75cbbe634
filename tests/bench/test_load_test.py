"""bench.load_test: how bursty the customers' messages were."""

from bench.load_test import busiest_arrivals


def test_the_busiest_window_counts_the_most_messages_sent_within_it():
    assert busiest_arrivals([0.5, 0.0, 0.05, 0.09, 0.55]) == 3  # unordered, as the customers finish
    assert busiest_arrivals([0.0, 0.1, 0.2]) == 1  # a window is half-open: 0.1 s apart is two windows
    assert busiest_arrivals([0.0, 0.1, 0.2], window=0.25) == 3
    assert busiest_arrivals([]) == 0
