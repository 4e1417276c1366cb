package dev.bbdiy.simulator;

import dev.bbdiy.simulator.FakeBitbucketServer.Event;
import dev.bbdiy.simulator.FakeBitbucketServer.EventType;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/** The simulator's event log: timestamped state changes and requests, and the listeners that follow them. */
final class EventLog {
  private final Clock clock;
  private final List<Event> events = new CopyOnWriteArrayList<>();
  private final List<Consumer<Event>> listeners = new CopyOnWriteArrayList<>();

  EventLog(Clock clock) {
    this.clock = clock;
  }

  void record(EventType type, String detail) {
    Event e = new Event(clock.instant(), type, detail);
    events.add(e);
    for (Consumer<Event> l : listeners) {
      try {
        l.accept(e);
      } catch (RuntimeException ignored) {
        // a listener must not break the simulator
      }
    }
  }

  void onEvent(Consumer<Event> listener) {
    listeners.add(listener);
  }

  List<Event> all() {
    return List.copyOf(events);
  }

  List<Event> ofType(EventType type) {
    return events.stream().filter(e -> e.type() == type).toList();
  }

  List<EventType> stateChanges() {
    return events.stream().map(Event::type).filter(t -> t != EventType.REQUEST).toList();
  }

  /** From each lock granted to the unlock accepted, in order. */
  List<Duration> lockWindows() {
    List<Duration> out = new ArrayList<>();
    @Nullable Instant lockedAt = null;
    for (Event e : events) {
      if (e.type() == EventType.LOCKED) {
        lockedAt = e.at();
      } else if (e.type() == EventType.UNLOCKED && lockedAt != null) {
        out.add(Duration.between(lockedAt, e.at()));
        lockedAt = null;
      }
    }
    return out;
  }

  String text() {
    StringBuilder sb = new StringBuilder();
    for (Event e : events) {
      sb.append("  ").append(e).append('\n');
    }
    return sb.toString();
  }
}
