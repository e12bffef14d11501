"""A path tracer that splits each pixel's light by the lobe of its first bounce (Mitsuba 3, extra ``train``).

The stage needs diffuse and specular light as separate passes. Rendering every lighting twice (full
materials, then their diffuse lobes alone) cost two path traces, and ``specular = full - diffuse``
carried both renders' noise. This integrator traces once and writes, beside the image, the light whose
first bounce was a diffuse lobe (the light path expression ``C<RD>.*``: a production renderer's diffuse
AOV, indirect light included); the rest of the image is specular. Their sum is the image exactly,
sample by sample. A path's light is split between the two by the first bounce's BSDF in the sampled
direction, not by which lobe was sampled: with Mitsuba's blend, a sample from either lobe carries the
whole BSDF, and attributing it by the sampled lobe took 7% of a blend's diffuse light into specular
(white furnace, direct light, F0 0.03, GGX alpha 0.4).

Otherwise it is Mitsuba's path tracer: next-event estimation with multiple importance sampling (power
heuristic), Russian roulette from ``rr_depth``, and ``hide_emitters`` (directly seen emitters are
skipped, so the alpha is the subject's coverage). Its AOVs, from the first intersection: ``diffuse``
(RGB radiance, premultiplied like the image), ``nn`` (shading normal) and ``pp`` (position), zero where
the camera ray hits nothing.

Importing this module picks Mitsuba's variant (``relit.reference.mitsuba``) and registers the
integrator as ``NAME``.
"""
from __future__ import annotations

from ..reference import mitsuba

mi = mitsuba()
import drjit as dr  # noqa: E402 (after the variant, as Mitsuba's own integrators)
from mitsuba.ad.integrators.common import ADIntegrator, mis_weight  # noqa: E402

NAME = "relit_split"
AOVS = ("diffuse.R", "diffuse.G", "diffuse.B", "nn.X", "nn.Y", "nn.Z", "pp.X", "pp.Y", "pp.Z")


class SplitPathIntegrator(ADIntegrator):
    def aov_names(self):
        return list(AOVS)

    @dr.syntax
    def sample(self, mode, scene, sampler, ray, δL, state_in, active, **kwargs):
        if mode != dr.ADMode.Primal:
            raise RuntimeError(f"{NAME} renders images only; it has no derivatives")
        ctx = mi.BSDFContext()
        diffuse_ctx = mi.BSDFContext(mi.TransportMode.Radiance, mi.BSDFFlags.Diffuse)
        ray = mi.Ray3f(ray)
        depth = mi.UInt32(0)
        radiance = mi.Spectrum(0)
        diffuse = mi.Spectrum(0)  # the part of ``radiance`` whose first bounce was diffuse
        beta = mi.Spectrum(1)
        eta = mi.Float(1)
        diffuse_share = mi.Spectrum(0)  # of the light a path brings, the first bounce's diffuse lobes' part
        normal = mi.Vector3f(0)
        position = mi.Point3f(0)
        active = mi.Bool(active)
        pi = scene.ray_intersect_preliminary(ray, coherent=True, reorder=False, active=active)
        if dr.hint(self.hide_emitters, mode="scalar"):  # see through emitters the camera would see
            skip = pi.is_valid() & (pi.shape.emitter() != None) & active  # noqa: E711 (Dr.Jit pointer test)
            si_skip = pi.compute_surface_interaction(ray, mi.RayFlags.Minimal, skip)
            pi[skip] = self.skip_area_emitters(scene, si_skip.spawn_ray(ray.d), True, skip)
        si_prev = dr.zeros(mi.SurfaceInteraction3f)
        bsdf_pdf_prev = mi.Float(1.0)
        bsdf_delta_prev = mi.Bool(True)

        while dr.hint(active, max_iterations=self.max_depth, label="relit split path"):
            active_next = mi.Bool(active)
            si = pi.compute_surface_interaction(ray, ray_flags=mi.RayFlags.All)
            bsdf = si.bsdf(ray)
            first = depth == 0
            hit = first & si.is_valid()
            normal[hit] = si.sh_frame.n
            position[hit] = si.p
            if dr.hint(self.hide_emitters, mode="scalar"):
                active_next &= ~(first & ~si.is_valid())

            # emission reached by the previous bounce
            ds = mi.DirectionSample3f(scene, si=si, ref=si_prev)
            mis = mis_weight(bsdf_pdf_prev, scene.pdf_emitter_direction(si_prev, ds, ~bsdf_delta_prev))
            emitted = beta * mis * ds.emitter.eval(si, active_next)

            # next-event estimation; at the first vertex its diffuse lobes are evaluated on their own too
            active_next &= (depth + 1 < self.max_depth) & si.is_valid()
            active_em = active_next & mi.has_flag(bsdf.flags(), mi.BSDFFlags.Smooth)
            ds, em_weight = scene.sample_emitter_direction(si, sampler.next_2d(), True, active_em)
            active_em &= ds.pdf != 0.0
            wo = si.to_local(ds.d)
            value, pdf = bsdf.eval_pdf(ctx, si, wo, active_em)
            mis_em = dr.select(ds.delta, 1, mis_weight(ds.pdf, pdf))
            direct = beta * mis_em * value * em_weight
            direct_diffuse = beta * mis_em * bsdf.eval(diffuse_ctx, si, wo, active_em & first) * em_weight

            radiance += emitted + direct
            diffuse += dr.select(first, direct_diffuse, diffuse_share * (emitted + direct))

            bs, bsdf_weight = bsdf.sample(ctx, si, sampler.next_1d(), sampler.next_2d(), active_next)
            # The sampled lobe does not say whose light a path carries: a blend's sample weight is the whole
            # BSDF over the mixture's pdf, so a path drawn from the glossy lobe carries diffuse light too.
            # Split it as the BSDF itself splits in the sampled direction (delta lobes evaluate to 0).
            at_first = active_next & first
            whole = bsdf.eval(ctx, si, bs.wo, at_first)
            share = dr.select(whole > 0, bsdf.eval(diffuse_ctx, si, bs.wo, at_first) / dr.maximum(whole, 1e-30),
                              dr.select(mi.has_flag(bs.sampled_type, mi.BSDFFlags.Diffuse), 1.0, 0.0))
            diffuse_share = dr.select(first, share, diffuse_share)
            ray_next = si.spawn_ray(si.to_world(bs.wo))
            eta *= bs.eta
            beta *= bsdf_weight
            si_prev = dr.detach(si, True)
            bsdf_pdf_prev = bs.pdf
            bsdf_delta_prev = mi.has_flag(bs.sampled_type, mi.BSDFFlags.Delta)

            depth[si.is_valid()] += 1  # before Russian roulette, as in Mitsuba's ``path``
            beta_max = dr.max(mi.unpolarized_spectrum(beta))
            active_next &= beta_max != 0
            rr_prob = dr.minimum(beta_max * eta ** 2, 0.95)
            rr_active = depth >= self.rr_depth
            beta[rr_active] *= dr.rcp(rr_prob)
            active_next &= ~rr_active | (sampler.next_1d() < rr_prob)

            pi = scene.ray_intersect_preliminary(ray_next, coherent=False, reorder=False, active=active_next)
            active = active_next
            ray = ray_next

        aovs = [diffuse.x, diffuse.y, diffuse.z, normal.x, normal.y, normal.z, position.x, position.y, position.z]
        return radiance, depth != 0, aovs, radiance

mi.register_integrator(NAME, lambda props: SplitPathIntegrator(props))
