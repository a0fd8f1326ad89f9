-- Argo CD health check for kube-posture's SecurityPolicy (kubeposture.io/v1alpha1).
--
--   Progressing  no status yet, a spec edit not yet audited (observedGeneration behind
--                metadata.generation), or Ready not True
--   Degraded     Degraded=True (some kinds cannot be read: part of the cluster is not
--                assessed) or Stalled=True (an invalid spec, Findings that cannot be written)
--   Healthy      otherwise
--
-- Findings are the policy doing its job, not a fault of the Application: a non-compliant
-- policy stays Healthy. Set this to true to show Compliant=False as Degraded instead.
local degradedWhenNonCompliant = false

local hs = {}

local function condition(conditions, type)
  for _, c in ipairs(conditions or {}) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

local function say(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

local status = obj.status
if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the first audit"
  return hs
end

local generation = obj.metadata.generation
local observed = status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Generation " .. tostring(generation) .. " is not audited yet"
  return hs
end

local conditions = status.conditions
local stalled = condition(conditions, "Stalled")
if isTrue(stalled) then
  hs.status = "Degraded"
  hs.message = "Stalled: " .. say(stalled, stalled.reason or "")
  return hs
end
local degraded = condition(conditions, "Degraded")
if isTrue(degraded) then
  hs.status = "Degraded"
  hs.message = "Degraded: " .. say(degraded, degraded.reason or "")
  return hs
end

local ready = condition(conditions, "Ready")
if not isTrue(ready) then
  hs.status = "Progressing"
  hs.message = "Not ready: " .. say(ready, "no Ready condition yet")
  return hs
end

local compliant = condition(conditions, "Compliant")
if compliant ~= nil and compliant.status == "False" then
  local score = ""
  if status.score ~= nil then
    score = " (score " .. tostring(status.score) .. ")"
  end
  hs.status = "Healthy"
  if degradedWhenNonCompliant then
    hs.status = "Degraded"
  end
  hs.message = "Not compliant: " .. say(compliant, "findings above the threshold") .. score
  return hs
end

hs.status = "Healthy"
hs.message = say(compliant, "Audited")
return hs
