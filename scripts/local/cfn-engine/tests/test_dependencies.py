"""The dependency graph: which resources wait for which, and the templates refused for it."""

from __future__ import annotations

import textwrap

import pytest

from kubecfn_embedded.errors import ValidationError
from tests.support import make_engine

pytestmark = pytest.mark.usefixtures("aws")


def unresolved(name: str, block: str) -> str:
    return f"Template format error: Unresolved resource dependencies [{name}] in the {block} block of the template"


def graph(text: str) -> dict[str, list[str]]:
    engine = make_engine(textwrap.dedent(text))
    return {name: sorted(deps) for name, deps in sorted(engine.dependencies(engine.template).items())}


def refusal(text: str) -> str:
    with pytest.raises(ValidationError) as err:
        make_engine(textwrap.dedent(text))
    return str(err.value.message)


def test_ref_getatt_sub_dependson_and_metadata_make_dependencies() -> None:
    assert graph("""
        Resources:
          Base: {Type: Test::Recorded}
          ByRef: {Type: Test::Recorded, Properties: {A: !Ref Base}}
          ByGetAtt: {Type: Test::Recorded, Properties: {A: !GetAtt ByRef.Name}}
          BySub: {Type: Test::Recorded, Properties: {A: !Sub "${ByGetAtt}-${Base.Name}"}}
          ByDependsOn: {Type: Test::Recorded, DependsOn: BySub}
          ByDependsOnList: {Type: Test::Recorded, DependsOn: [Base, ByDependsOn]}
          ByMetadata: {Type: Test::Recorded, Metadata: {Uses: !Ref ByDependsOnList}}
        """) == {
        "Base": [],
        "ByDependsOn": ["BySub"],
        "ByDependsOnList": ["Base", "ByDependsOn"],
        "ByGetAtt": ["ByRef"],
        "ByMetadata": ["ByDependsOnList"],
        "ByRef": ["Base"],
        "BySub": ["Base", "ByGetAtt"],
    }


def test_only_the_selected_fn_if_branch_makes_a_dependency() -> None:
    assert graph("""
        Conditions:
          Yes: !Equals [a, a]
        Resources:
          Chosen: {Type: Test::Recorded}
          NotChosen: {Type: Test::Recorded}
          User:
            Type: Test::Recorded
            Properties:
              A: !If [Yes, !Ref Chosen, !Ref NotChosen]
        """) == {"Chosen": [], "NotChosen": [], "User": ["Chosen"]}


def test_a_reference_to_itself_is_not_a_dependency() -> None:
    assert graph("""
        Resources:
          Self: {Type: Test::Recorded, Metadata: {Me: !Ref Self}}
        """) == {"Self": []}


def test_dependson_an_undeclared_resource_is_refused() -> None:
    assert refusal("""
        Resources:
          A: {Type: Test::Recorded, DependsOn: Ghost}
        """) == unresolved("Ghost", "Resources")


def test_a_reference_to_a_resource_whose_condition_is_false_is_refused() -> None:
    assert refusal("""
        Conditions:
          Never: !Equals [a, b]
        Resources:
          Off: {Type: Test::Recorded, Condition: Never}
          User: {Type: Test::Recorded, Properties: {A: !Ref Off}}
        """) == unresolved("Off", "Resources")


def test_a_cycle_is_refused_naming_only_the_resources_on_it() -> None:
    message = refusal("""
        Resources:
          Free: {Type: Test::Recorded}
          LeadsIn: {Type: Test::Recorded, DependsOn: A}
          A: {Type: Test::Recorded, Properties: {X: !Ref C}}
          B: {Type: Test::Recorded, Properties: {X: !GetAtt A.Name}}
          C: {Type: Test::Recorded, DependsOn: B}
        """)
    assert message == "Circular dependency between resources: [A, B, C]"


def test_an_output_naming_a_resource_that_will_not_exist_is_refused() -> None:
    assert refusal("""
        Conditions:
          Never: !Equals [a, b]
        Resources:
          Off: {Type: Test::Recorded, Condition: Never}
          On: {Type: Test::Recorded}
        Outputs:
          Id: {Value: !Ref Off}
        """) == unresolved("Off", "Outputs")


def test_an_output_with_a_false_condition_may_name_an_absent_resource() -> None:
    engine = make_engine(
        textwrap.dedent("""
        Conditions:
          Never: !Equals [a, b]
        Resources:
          Off: {Type: Test::Recorded, Condition: Never}
          On: {Type: Test::Recorded}
        Outputs:
          Id: {Condition: Never, Value: !Ref Off}
        """)
    )
    assert engine.conditions == {"Never": False}
