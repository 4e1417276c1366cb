package dev.bbdiy.simulator;

import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import dev.bbdiy.simulator.FakeBitbucketServer.Fault;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/** Counts the calls of each endpoint and hands out the faults queued for its next calls. Thread-safe. */
final class FaultPlan {
  private final Map<Endpoint, AtomicInteger> calls = new EnumMap<>(Endpoint.class);
  private final Map<Endpoint, List<Fault>> faults = new EnumMap<>(Endpoint.class);

  FaultPlan() {
    for (Endpoint e : Endpoint.values()) {
      calls.put(e, new AtomicInteger());
      faults.put(e, new ArrayList<>());
    }
  }

  /** Counts a call of {@code endpoint} and returns the fault to inject into it, if one is queued. */
  @Nullable Fault arrive(Endpoint endpoint) {
    counter(endpoint).incrementAndGet();
    synchronized (this) {
      List<Fault> list = faultsOf(endpoint);
      return list.isEmpty() ? null : list.remove(0);
    }
  }

  synchronized void failNext(Endpoint endpoint, int times, Fault fault) {
    for (int i = 0; i < times; i++) {
      faultsOf(endpoint).add(fault);
    }
  }

  int calls(Endpoint endpoint) {
    return counter(endpoint).get();
  }

  /** Every endpoint has its counter and fault list from the start. */
  private AtomicInteger counter(Endpoint endpoint) {
    return Objects.requireNonNull(calls.get(endpoint));
  }

  private List<Fault> faultsOf(Endpoint endpoint) {
    return Objects.requireNonNull(faults.get(endpoint));
  }
}
