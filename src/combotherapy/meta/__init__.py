"""Evidence across trials: effect sizes from study data, pairwise meta-analysis, network and component NMA.

``import combotherapy as ct`` then ``ct.meta.<function>``; these names live in their own namespace so they do not
collide with the single-trial analyses (``ct.effect_sizes``, ``ct.plot.forest``).

Input is study-level: one row per study arm (``pairwise``) or per contrast (``escalc(..., "GEN")``, ``netmeta``).
Author and study-label columns are publication metadata, not patient identifiers: the patient identifier guard is
not run on study-level files (the privacy module is being rewritten to accept a "study-level" kind of file; until
then :func:`read_studies` deliberately skips it).
"""

from . import component, network
from .component import CNMASynergyResult, NetcombResult, cnma_synergy, discomb, netcomb
from .effect_sizes import MEASURES, escalc, pairwise
from .io import arms_from_wide, read_studies
from .metareg import MetaRegResult, metareg
from .multilevel import RMAMVResult, lrt, rma_mv
from .network import NetmetaResult, league_table, netmeta, netrank, netsplit
from .pairwise_ma import RegTestResult, RMAResult, influence, leave1out, regtest, rma, trimfill

__all__ = [
    "MEASURES", "escalc", "pairwise", "read_studies", "arms_from_wide",
    "rma", "RMAResult", "leave1out", "influence", "regtest", "RegTestResult", "trimfill",
    "metareg", "MetaRegResult", "rma_mv", "RMAMVResult", "lrt",
    "netmeta", "NetmetaResult", "netsplit", "netrank", "league_table", "network",
    "netcomb", "discomb", "NetcombResult", "cnma_synergy", "CNMASynergyResult", "component",
]
