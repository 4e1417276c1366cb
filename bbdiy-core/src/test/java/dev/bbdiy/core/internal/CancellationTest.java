package dev.bbdiy.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** {@link Cancellation#interruptibly}: the one way the engine makes provider calls stoppable. */
class CancellationTest {

  @Test
  void a_cancel_interrupts_the_work_and_the_interrupt_does_not_leak_out() throws Exception {
    Cancellation cancellation = new Cancellation();
    CountDownLatch inside = new CountDownLatch(1);
    AtomicBoolean interruptedInside = new AtomicBoolean();
    AtomicBoolean interruptedAfter = new AtomicBoolean(true);
    Thread t = new Thread(() -> {
      cancellation.interruptibly(() -> {
        inside.countDown();
        try {
          Thread.sleep(10_000);
        } catch (InterruptedException e) {
          interruptedInside.set(true);
          Thread.currentThread().interrupt(); // left set on purpose: leaving the section must clear it
        }
      });
      interruptedAfter.set(Thread.currentThread().isInterrupted());
    });
    t.start();
    assertThat(inside.await(5, TimeUnit.SECONDS)).isTrue();
    cancellation.cancel("test");
    t.join(5_000);
    assertThat(t.isAlive()).isFalse();
    assertThat(interruptedInside).isTrue();
    assertThat(interruptedAfter).isFalse();
  }

  @Test
  void work_started_after_the_cancel_starts_interrupted_and_returns_its_value() {
    Cancellation cancellation = new Cancellation();
    cancellation.cancel("before");
    AtomicReference<Boolean> seen = new AtomicReference<>();
    String value = cancellation.interruptibly(() -> {
      seen.set(Thread.currentThread().isInterrupted());
      return "done";
    });
    assertThat(value).isEqualTo("done");
    assertThat(seen.get()).isTrue();
    assertThat(Thread.currentThread().isInterrupted()).isFalse();
  }

  @Test
  void outside_a_section_a_cancel_never_interrupts() {
    Cancellation cancellation = new Cancellation();
    cancellation.interruptibly(() -> { });
    cancellation.cancel("later");
    assertThat(Thread.interrupted()).isFalse();
    assertThatThrownBy(cancellation::throwIfCancelled).hasMessageContaining("later");
  }
}
