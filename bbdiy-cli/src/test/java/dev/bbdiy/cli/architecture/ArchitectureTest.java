package dev.bbdiy.cli.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module boundaries, checked on the compiled classes of every module (this module's tests see them all): no
 * module uses another's {@code internal} package, providers do not use bbdiy-core, the API and the provider kit
 * depend on nothing but the JDK and JSpecify. The build fails when a rule breaks; {@link
 * #the_rules_catch_a_provider_that_reaches_into_core} shows that they do.
 */
class ArchitectureTest {
  /** The modules that are providers or what providers build on: none of them may use the engine. */
  static final List<String> PROVIDER_SIDE = List.of("dev.bbdiy.api..", "dev.bbdiy.kit..", "dev.bbdiy.archive..",
      "dev.bbdiy.copy..", "dev.bbdiy.rsync..", "dev.bbdiy.postgres..", "dev.bbdiy.aws..", "dev.bbdiy.snapshot..",
      "dev.bbdiy.simulator..", "dev.bbdiy.testkit..");

  static JavaClasses all;

  @BeforeAll
  static void importClasses() {
    all = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("dev.bbdiy");
    assertThat(all.stream().map(c -> c.getPackageName()).distinct())
        .as("the classes of every module are imported")
        .contains("dev.bbdiy.api.spi", "dev.bbdiy.kit", "dev.bbdiy.archive", "dev.bbdiy.copy", "dev.bbdiy.rsync",
            "dev.bbdiy.postgres", "dev.bbdiy.aws", "dev.bbdiy.core", "dev.bbdiy.core.internal", "dev.bbdiy.cli");
  }

  static ArchRule internalsStayInTheirModule() {
    return noClasses().that().resideOutsideOfPackage("dev.bbdiy.core..")
        .should().dependOnClassesThat().resideInAPackage("dev.bbdiy.core.internal..")
        .because("internal packages carry no compatibility promise; providers use the SPI and the kit");
  }

  static ArchRule providersDoNotUseTheEngine() {
    return noClasses().that().resideInAnyPackage(PROVIDER_SIDE.toArray(String[]::new))
        .should().dependOnClassesThat().resideInAPackage("dev.bbdiy.core..")
        .because("a provider builds on the SPI and the kit alone (bbdiy-api, bbdiy-kit)");
  }

  @Test
  void no_module_uses_another_modules_internal_package() {
    internalsStayInTheirModule().check(all);
  }

  @Test
  void providers_and_what_they_build_on_do_not_use_the_engine() {
    providersDoNotUseTheEngine().check(all);
  }

  @Test
  void the_api_depends_on_nothing_but_the_jdk_and_jspecify() {
    classes().that().resideInAPackage("dev.bbdiy.api..")
        .should().onlyDependOnClassesThat().resideInAnyPackage("java..", "org.jspecify..", "dev.bbdiy.api..")
        .check(all);
  }

  @Test
  void the_kit_depends_on_nothing_but_the_jdk_jspecify_and_the_api() {
    classes().that().resideInAPackage("dev.bbdiy.kit..")
        .should().onlyDependOnClassesThat().resideInAnyPackage("java..", "org.jspecify..", "dev.bbdiy.api..",
            "dev.bbdiy.kit..")
        .check(all);
  }

  @Test
  void the_rules_catch_a_provider_that_reaches_into_core() {
    JavaClasses fixture = new ClassFileImporter().importClasses(dev.bbdiy.rsync.fixture.ReachesIntoCore.class,
        dev.bbdiy.core.internal.Cancellation.class, dev.bbdiy.core.BackupEngine.class);
    EvaluationResult internals = internalsStayInTheirModule().evaluate(fixture);
    EvaluationResult engine = providersDoNotUseTheEngine().evaluate(fixture);

    assertThat(internals.hasViolation()).isTrue();
    assertThat(internals.getFailureReport().getDetails()).anySatisfy(d -> assertThat(d).contains("ReachesIntoCore"));
    assertThat(engine.hasViolation()).isTrue();
  }
}
